// knn_nf's 8 features of an IPv4 packet, computed on the host from the table in kmod/runtime/netfilter/README.md
// with float32 rounding (Math.fround), so sandbox tests can predict the kernel's inputs and verdicts.

/** What knn_nf reads from an IPv4 packet. Ports and syn matter only for TCP (ports also for UDP). */
export interface NetfilterPacket {
	/** IP protocol number: 6 TCP, 17 UDP, 1 ICMP, ... */
	protocol: number;
	srcPort: number;
	dstPort: number;
	/** The IP header's total length, in bytes. */
	length: number;
	ttl: number;
	syn: boolean;
	/** Dotted quad, e.g. "10.9.0.2". */
	dstAddr: string;
}

export const TCP = 6;
export const UDP = 17;

/** The input knn_nf hands the active model for this packet. */
export function features(packet: NetfilterPacket): Float32Array {
	const tcp = packet.protocol === TCP;
	const udp = packet.protocol === UDP;
	const ported = tcp || udp;
	const octets = packet.dstAddr.split(".").map(Number);
	if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) {
		throw new Error(`dstAddr "${packet.dstAddr}" is not an IPv4 dotted quad: use four numbers 0..255 separated by dots.`);
	}
	return Float32Array.from([
		tcp ? 1 : 0,
		udp ? 1 : 0,
		ported ? packet.srcPort / 65536 : 0,
		ported ? packet.dstPort / 65536 : 0,
		packet.length / 65536,
		packet.ttl / 256,
		tcp && packet.syn ? 1 : 0,
		octets[3] / 256,
	]);
}

/** knn_nf's verdict from the model's scores [accept, drop]: drop only when drop is strictly greater (NaN never drops). */
export function verdict(scores: ArrayLike<number>): "accept" | "drop" {
	return Math.fround(scores[1]) > Math.fround(scores[0]) ? "drop" : "accept";
}
