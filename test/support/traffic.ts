import * as fs from "node:fs";
import * as path from "node:path";
import { runProcess } from "../../extension/core/sandbox/run";
import { GUEST_TOOLS, GUEST_WORK_ROOT } from "../../extension/core/sandbox/sandboxTypes";
import type { Target } from "../../extension/core/targets/target";
import { tempDir } from "./cli";

/** Runs one shell command in the VM: SandboxHandle.ssh, or targetShell() around a Target. */
export type GuestShell = (command: string, options?: { input?: string | Uint8Array; timeoutMs?: number })
	=> Promise<{ code: number | null; stdout: string; stderr: string }>;

export function targetShell(target: Target): GuestShell {
	return (command, options) => target.run("sh", ["-c", command], { input: options?.input, timeoutMs: options?.timeoutMs });
}

/** Two namespaces joined by a veth pair: traffic between them crosses the VM's real network stack (and its hooks). */
export const NETNS = {
	client: { ns: "knn-a", dev: "knn-va", address: "10.77.0.1" },
	server: { ns: "knn-b", dev: "knn-vb", address: "10.77.0.2" },
} as const;

const { ip: IP, tc: TC, iperf3: IPERF3 } = GUEST_TOOLS;
const IPERF_PID = "/run/knn-iperf3.pid";
const UDPPROBE = `${GUEST_WORK_ROOT}/udpprobe`;
const UDPPROBE_SOURCE = path.join(__dirname, "udpprobe.c");

async function must(sh: GuestShell, what: string, command: string, timeoutMs = 60_000): Promise<string> {
	const result = await sh(command, { timeoutMs });
	if (result.code !== 0) throw new Error(`${what} failed in the VM (exit ${result.code}):\n${result.stderr.trim() || result.stdout.trim()}`);
	return result.stdout;
}

/** Creates knn-a (10.77.0.1/24) and knn-b (10.77.0.2/24) joined by veth; running it again changes nothing. */
export async function setupNetns(sh: GuestShell): Promise<void> {
	const { client: a, server: b } = NETNS;
	await must(sh, "setting up the knn-a/knn-b network namespaces", [
		"set -e",
		// veth is a module in Debian's kernels; modprobe finds it on the modules share.
		"modprobe veth 2>/dev/null || true",
		`for ns in ${a.ns} ${b.ns}; do [ -e /run/netns/$ns ] || ${IP} netns add $ns; done`,
		`${IP} -n ${a.ns} link show ${a.dev} >/dev/null 2>&1 || ${IP} link add ${a.dev} netns ${a.ns} type veth peer name ${b.dev} netns ${b.ns}`,
		`${IP} -n ${a.ns} addr replace ${a.address}/24 dev ${a.dev}`,
		`${IP} -n ${b.ns} addr replace ${b.address}/24 dev ${b.dev}`,
		`for ns in ${a.ns} ${b.ns}; do ${IP} -n $ns link set lo up; done`,
		`${IP} -n ${a.ns} link set ${a.dev} up`,
		`${IP} -n ${b.ns} link set ${b.dev} up`,
	].join("\n"));
}

/** Limits what knn-a sends to `rate` (tc tbf, e.g. "20mbit"), so a TCP flow is paced by congestion control, not by the emulated CPU. */
export async function limitRate(sh: GuestShell, rate: string): Promise<void> {
	if (!/^\d+(\.\d+)?[kmg]?bit$/.test(rate)) throw new Error(`limitRate: "${rate}" is not a tc rate like 20mbit`);
	const { ns, dev } = NETNS.client;
	await must(sh, `limiting ${dev} to ${rate}`,
		`modprobe sch_tbf 2>/dev/null; ${TC} -n ${ns} qdisc replace dev ${dev} root tbf rate ${rate} burst 32kb latency 100ms`);
}

/** Removes the limit limitRate set. */
export async function clearRate(sh: GuestShell): Promise<void> {
	const { ns, dev } = NETNS.client;
	await sh(`${TC} -n ${ns} qdisc del dev ${dev} root 2>/dev/null; true`);
}

/** iperf3 as a daemon in knn-b on port 5201 (restarted if one runs), once it listens. */
export async function startIperfServer(sh: GuestShell): Promise<void> {
	const { ns } = NETNS.server;
	await must(sh, "starting the iperf3 server in knn-b", [
		`[ -f ${IPERF_PID} ] && kill $(cat ${IPERF_PID}) 2>/dev/null; rm -f ${IPERF_PID}`,
		`${IP} netns exec ${ns} ${IPERF3} -s -D -p 5201 -I ${IPERF_PID}`,
		`i=0; until ${IP} netns exec ${ns} netstat -ltn | grep -q ':5201 '; do i=$((i+1)); [ $i -lt 100 ] || exit 1; usleep 100000; done`,
	].join("\n"));
}

export interface IperfOptions {
	seconds: number;
	/** Congestion control iperf3 asks for with -C (cubic, or the runtime's "knn"); default: the kernel's. */
	congestion?: string;
	/** Seconds per reported interval; default 1. */
	interval?: number;
}

export interface IperfResult {
	/** bits_per_second of each interval, as iperf3's client saw them. */
	intervals: number[];
	/** The congestion control the sender used, as iperf3 reports it. */
	congestion: string;
	senderBitsPerSecond: number;
	receiverBitsPerSecond: number;
	/** Retransmitted segments over the whole flow. */
	retransmits: number;
}

interface IperfJson {
	error?: string;
	intervals?: { sum: { bits_per_second: number } }[];
	end?: {
		sum_sent?: { bits_per_second: number; retransmits?: number };
		sum_received?: { bits_per_second: number };
		sender_tcp_congestion?: string;
	};
}

export function parseIperfJson(text: string): IperfResult {
	let json: IperfJson;
	try {
		json = JSON.parse(text) as IperfJson;
	} catch {
		throw new Error(`iperf3 printed no JSON:\n${text.slice(0, 2000)}`);
	}
	if (json.error) throw new Error(`iperf3: ${json.error}`);
	return {
		intervals: (json.intervals ?? []).map((i) => i.sum.bits_per_second),
		congestion: json.end?.sender_tcp_congestion ?? "",
		senderBitsPerSecond: json.end?.sum_sent?.bits_per_second ?? 0,
		receiverBitsPerSecond: json.end?.sum_received?.bits_per_second ?? 0,
		retransmits: json.end?.sum_sent?.retransmits ?? 0,
	};
}

/** Starts a TCP flow knn-a -> knn-b and returns at once; `result` settles when iperf3 finishes. */
export function startIperf(sh: GuestShell, options: IperfOptions): { result: Promise<IperfResult> } {
	const { seconds, congestion, interval = 1 } = options;
	if (!(seconds > 0) || !(interval > 0)) throw new Error(`runIperf: seconds (${seconds}) and interval (${interval}) must be positive`);
	if (congestion !== undefined && !/^[a-z0-9_]+$/.test(congestion)) throw new Error(`runIperf: "${congestion}" is not a congestion control name`);
	const args = ["-c", NETNS.server.address, "-p", "5201", "-t", String(seconds), "-i", String(interval), "--json", ...congestion ? ["-C", congestion] : []];
	const command = `${IP} netns exec ${NETNS.client.ns} ${IPERF3} ${args.join(" ")}`;
	const result = sh(command, { timeoutMs: seconds * 1000 + 60_000 }).then((r) => {
		if (r.stdout.trim() === "") throw new Error(`iperf3 printed nothing (exit ${r.code}): ${r.stderr.trim()}`);
		// iperf3 exits 1 with its error inside the JSON; parse first so that message wins.
		const parsed = parseIperfJson(r.stdout);
		if (r.code !== 0) throw new Error(`iperf3 exited with ${r.code}: ${r.stderr.trim()}`);
		return parsed;
	});
	return { result };
}

export function runIperf(sh: GuestShell, options: IperfOptions): Promise<IperfResult> {
	return startIperf(sh, options).result;
}

let builtProbe: string | undefined;

/** Builds udpprobe.c statically on the host (once per process) and uploads it to the VM. */
export async function uploadUdpProbe(sh: GuestShell): Promise<void> {
	if (!builtProbe) {
		const out = path.join(tempDir("udpprobe"), "udpprobe");
		const build = await runProcess("gcc", ["-O2", "-static", "-Wall", "-o", out, UDPPROBE_SOURCE]);
		if (build.code !== 0) throw new Error(`gcc -static could not build ${UDPPROBE_SOURCE} (apt-get install gcc libc6-dev):\n${build.spawnError ?? build.stderr}`);
		builtProbe = out;
	}
	const upload = await sh(`mkdir -p ${GUEST_WORK_ROOT} && cat > ${UDPPROBE}.tmp && chmod 0755 ${UDPPROBE}.tmp && mv ${UDPPROBE}.tmp ${UDPPROBE}`,
		{ input: fs.readFileSync(builtProbe), timeoutMs: 60_000 });
	if (upload.code !== 0) throw new Error(`uploading udpprobe to ${UDPPROBE} failed: ${upload.stderr.trim()}`);
}

export interface UdpProbeResult {
	sent: Record<number, number>;
	received: Record<number, number>;
}

function countsByPort(record: Record<string, number> | undefined, ports: readonly number[], what: string): Record<number, number> {
	if (!record) throw new Error(`udpprobe printed no ${what} counts`);
	return Object.fromEntries(ports.map((p) => [p, record[String(p)] ?? 0]));
}

/**
 * Sends `count` datagrams to each port from knn-a (fixed source port) to knn-b and counts what arrives per port.
 * Uploads udpprobe first when the VM lacks it.
 */
export async function runUdpProbe(sh: GuestShell, options: { ports: readonly number[]; count: number; sourcePort?: number; seconds?: number }): Promise<UdpProbeResult> {
	const { ports, count, sourcePort = 40000, seconds = 60 } = options;
	if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) throw new Error(`runUdpProbe: bad ports ${ports.join(",")}`);
	if ((await sh(`[ -x ${UDPPROBE} ]`)).code !== 0) await uploadUdpProbe(sh);
	const pattern = ports.map((p) => `:${p} `).join("|");
	const out = await must(sh, "the udpprobe send/recv pair", [
		`${IP} netns exec ${NETNS.server.ns} ${UDPPROBE} recv --ports ${ports.join(",")} --seconds ${seconds} > ${UDPPROBE}.recv &`,
		"pid=$!",
		`i=0; until [ $(${IP} netns exec ${NETNS.server.ns} netstat -lun | grep -cE '${pattern}') -ge ${ports.length} ]; do i=$((i+1)); [ $i -lt 100 ] || exit 1; usleep 50000; done`,
		`${IP} netns exec ${NETNS.client.ns} ${UDPPROBE} send ${NETNS.server.address} ${ports.join(" ")} --count ${count} --source-port ${sourcePort} || exit 1`,
		"wait $pid",
		`cat ${UDPPROBE}.recv`,
	].join("\n"), seconds * 1000 + 60_000);
	const lines = out.trim().split("\n").map((line) => JSON.parse(line) as { sent?: Record<string, number>; received?: Record<string, number> });
	return {
		sent: countsByPort(lines.find((l) => l.sent)?.sent, ports, "sent"),
		received: countsByPort(lines.find((l) => l.received)?.received, ports, "received"),
	};
}
