import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import type { Readable, Writable } from "node:stream";
import type { Client, ClientChannel, SFTPWrapper } from "ssh2";
import { temporaryPathBeside } from "./localTarget";
import { type SshSettings, type SshTargetOptions, connectSsh, resolveSshSettings } from "./sshConnect";
import {
	OutputCollector,
	type RunOptions,
	type RunResult,
	type Target,
	TargetError,
	type TransferOptions,
	cancelledError,
	describeCommand,
	shellCommand,
	shellCommandLine,
	shellQuote,
	timeoutError,
} from "./target";

export type { HostKeyDecision, SecretKind, SshTargetOptions, UnknownHostKey } from "./sshConnect";

/** How long the next channel open waits for a channel we closed to be confirmed closed (old dropbear needs it). */
const CLOSE_WAIT_MS = 2000;
// A pty that neither echoes input nor turns "\n" into "\r\n", so its output reads like a pipe's.
const PTY = { term: "dumb", cols: 200, rows: 50, modes: { ECHO: 0 as const, ONLCR: 0 as const } };
// Channel opens that fail like this are retried once on a fresh connection: old dropbear refuses an exec right after
// a channel closed and then drops the whole connection; a connection that died unnoticed fails the same way.
const RETRYABLE_OPEN = /Unable to exec|Channel open failure|No response from server|Not connected/i;

interface Session {
	readonly client: Client;
	readonly id: number;
	alive: boolean;
	/** Replaced by a fresh connection; ends once its last channel is done. */
	retired: boolean;
	/** Exec channels open and transfers running; the idle cached SFTP channel is not counted. */
	busy: number;
	readonly onDrop: Set<(reason: string) => void>;
	sftp?: SFTPWrapper;
	lastError?: string;
	closeReason?: string;
}

interface DriveOptions extends RunOptions {
	stdinFrom?: Readable;
	stdoutTo?: Writable;
}

/**
 * A machine reached over SSH (ssh2). One connection, opened on first use and again after it drops; channel opens
 * are serialised, but channels run side by side so a log follower can run while other commands do.
 */
export class SshTarget implements Target {
	readonly description: string;
	private readonly settings: SshSettings;
	private readonly log: (message: string) => void;
	private readonly acceptedKeys = new Set<string>();
	private readonly sessions = new Set<Session>();
	private session?: Session;
	private connecting?: Promise<Session>;
	private sessionCount = 0;
	private openQueue: Promise<void> = Promise.resolve();
	private readonly closingChannels = new Set<Promise<void>>();
	/** Upload temporaries that could not be removed when their upload failed; removed on the next connect. */
	private readonly strandedTemps = new Set<string>();
	private sftpMissing = false;
	private sftpOpening?: Promise<{ session: Session; sftp: SFTPWrapper } | undefined>;
	private closed = false;

	constructor(options: SshTargetOptions) {
		this.settings = resolveSshSettings(options);
		this.description = this.settings.description;
		this.log = options.log ?? (() => undefined);
	}

	/** The host, port and user actually used, after ~/.ssh/config. */
	get resolved(): Readonly<Pick<SshSettings, "hostName" | "port" | "user" | "identityFiles" | "knownHostsFiles">> {
		return this.settings;
	}

	async run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
		const what = `running "${describeCommand(command, args)}"`;
		const { session, channel } = await this.openExec(shellCommandLine(command, args, options), what, options);
		return await this.drive(session, channel, what, options);
	}

	async upload(localPath: string, remotePath: string, options: TransferOptions = {}): Promise<void> {
		const what = `uploading ${localPath} to ${remotePath}`;
		if (options.signal?.aborted) throw cancelledError(this.description, capitalise(what));
		let size: number;
		try {
			size = (await fs.promises.stat(localPath)).size;
		} catch (error) {
			throw new TargetError(`Cannot upload ${localPath} to ${this.description}: ${(error as Error).message}.`, "transfer", this.description, { cause: error });
		}
		const temp = `${remotePath}.tmp-${randomBytes(4).toString("hex")}`;
		let written = false;
		try {
			const viaSftp = await this.sftpSession(options.signal);
			written = true;
			if (viaSftp) {
				await this.putViaSftp(viaSftp, localPath, temp, size, what, options);
				await this.commitViaSftp(viaSftp, temp, remotePath, size, what, options);
			} else {
				await this.putViaCat(localPath, temp, size, what, options);
				await this.commitViaShell(temp, remotePath, size, options);
			}
		} catch (error) {
			if (written) await this.removeTemp(temp);
			throw this.transferError(error, `Could not upload ${localPath} to ${this.description}:${remotePath}`, "the target folder does not exist");
		}
	}

	async download(remotePath: string, localPath: string, options: TransferOptions = {}): Promise<void> {
		const what = `downloading ${remotePath} to ${localPath}`;
		if (options.signal?.aborted) throw cancelledError(this.description, capitalise(what));
		const temp = temporaryPathBeside(localPath);
		try {
			const viaSftp = await this.sftpSession(options.signal);
			if (viaSftp) {
				const { session, sftp } = viaSftp;
				const transfer = new Promise<void>((resolve, reject) => {
					sftp.fastGet(remotePath, temp, { step: (done, _chunk, total) => options.onProgress?.(done, total) }, (error) => (error ? reject(error) : resolve()));
				});
				await this.guard(session, what, transfer, () => sftp.end(), options);
			} else {
				const sizeResult = await this.run("sh", ["-c", 'wc -c < "$1"', "sh", remotePath], { signal: options.signal });
				if (sizeResult.code !== 0) throw new Error(sizeResult.stderr.trim() || "no such file");
				const size = Number(sizeResult.stdout.trim());
				const { session, channel } = await this.openExec(shellCommand("cat", ["--", remotePath]), what, options);
				const result = await this.drive(session, channel, what, { signal: options.signal, stdoutTo: fs.createWriteStream(temp) });
				if (result.code !== 0) throw new Error(result.stderr.trim() || `cat exited with code ${result.code}`);
				const received = (await fs.promises.stat(temp)).size;
				if (received !== size) throw new Error(`received ${received} of ${size} bytes`);
			}
			if (options.mode !== undefined) await fs.promises.chmod(temp, options.mode);
			await fs.promises.rename(temp, localPath);
		} catch (error) {
			await fs.promises.rm(temp, { force: true });
			throw this.transferError(error, `Could not download ${this.description}:${remotePath} to ${localPath}`, "no such file on the target");
		}
	}

	async close(): Promise<void> {
		this.closed = true;
		await Promise.all([...this.sessions].map((session) => this.endSession(session, "the target was closed")));
	}

	dispose(): void {
		void this.close();
	}

	private async acquire(signal?: AbortSignal): Promise<Session> {
		if (this.closed) throw new TargetError(`The connection to ${this.description} was closed; open the target again.`, "disconnected", this.description);
		if (this.session?.alive) return this.session;
		this.connecting ??= this.openSession().finally(() => (this.connecting = undefined));
		return await abortable(this.connecting, signal, () => cancelledError(this.description, "Connecting"));
	}

	private async openSession(): Promise<Session> {
		const client = await connectSsh(this.settings, this.acceptedKeys);
		const session: Session = { client, id: ++this.sessionCount, alive: true, retired: false, busy: 0, onDrop: new Set() };
		client.on("error", (error: Error & { level?: string }) => {
			session.lastError = error.level === "client-timeout" ? "the target stopped answering keepalives" : error.message;
		});
		client.on("close", () => this.dropped(session));
		this.sessions.add(session);
		this.session = session;
		if (this.closed) {
			await this.endSession(session, "the target was closed");
			throw new TargetError(`The connection to ${this.description} was closed; open the target again.`, "disconnected", this.description);
		}
		this.log(`${this.description}: connected (connection ${session.id})`);
		await this.removeStrandedTemps(session);
		return session;
	}

	private dropped(session: Session): void {
		if (!session.alive) return;
		session.alive = false;
		session.sftp = undefined;
		this.sessions.delete(session);
		if (this.session === session) this.session = undefined;
		const reason = session.closeReason ?? session.lastError ?? "the server closed it";
		this.log(`${this.description}: connection ${session.id} closed: ${reason}`);
		for (const listener of [...session.onDrop]) listener(reason);
		session.onDrop.clear();
	}

	private async endSession(session: Session, reason: string): Promise<void> {
		if (!session.alive) return;
		session.closeReason = reason;
		const closed = new Promise<void>((resolve) => session.client.once("close", () => resolve()));
		session.client.end();
		const timer = setTimeout(() => session.client.destroy(), CLOSE_WAIT_MS);
		await closed;
		clearTimeout(timer);
	}

	/** Stops using session for new channels and ends it once what runs on it is done. */
	private retire(session: Session): void {
		session.retired = true;
		if (this.session === session) this.session = undefined;
		this.release(session, 0);
	}

	private release(session: Session, count: number): void {
		session.busy -= count;
		if (session.retired && session.busy === 0) void this.endSession(session, "replaced by a fresh connection");
	}

	/** Opens a channel on the live connection, retrying a refused open once on a fresh connection. */
	private async openChannel<T>(what: string, signal: AbortSignal | undefined, open: (client: Client) => Promise<T>): Promise<{ session: Session; channel: T }> {
		for (let attempt = 1; ; attempt++) {
			const session = await this.acquire(signal);
			try {
				const channel = await this.serialised(() => open(session.client));
				return { session, channel };
			} catch (error) {
				if (error instanceof TargetError) throw error;
				const message = (error as Error).message;
				if (attempt >= 2 || !RETRYABLE_OPEN.test(message)) {
					if (!session.alive) throw this.lostError(capitalise(what), session.closeReason ?? session.lastError ?? message);
					const again = attempt >= 2 ? ", also on a fresh connection" : "";
					throw new TargetError(
						`${capitalise(what)} on ${this.description} failed: the server refused to open a channel (${message})${again}. Check the target's sshd log; MaxSessions and old dropbear versions cause this.`,
						"connect",
						this.description,
						{ cause: error },
					);
				}
				this.log(`${this.description}: ${what}: ${message}; retrying once on a fresh connection.`);
				this.retire(session);
			}
		}
	}

	private async serialised<T>(open: () => Promise<T>): Promise<T> {
		const previous = this.openQueue;
		let release = (): void => undefined;
		this.openQueue = new Promise<void>((resolve) => (release = resolve));
		try {
			await previous;
			if (this.closingChannels.size > 0) await Promise.all(this.closingChannels);
			return await open();
		} finally {
			release();
		}
	}

	private async openExec(commandLine: string, what: string, options: RunOptions): Promise<{ session: Session; channel: ClientChannel }> {
		if (options.signal?.aborted) throw cancelledError(this.description, capitalise(what));
		const opened = await this.openChannel(what, options.signal, (client) => {
			return new Promise<ClientChannel>((resolve, reject) => {
				client.exec(commandLine, options.pty ? { pty: PTY } : {}, (error, channel) => (error ? reject(error) : resolve(channel)));
			});
		});
		opened.session.busy++;
		opened.channel.once("close", () => this.release(opened.session, 1));
		if (options.signal?.aborted) {
			this.stopChannel(opened.channel);
			throw cancelledError(this.description, capitalise(what));
		}
		return opened;
	}

	/** Feeds and reads an exec channel until it closes, the caller cancels, time runs out or the connection drops. */
	private drive(session: Session, channel: ClientChannel, what: string, options: DriveOptions): Promise<RunResult> {
		const keep = options.buffer !== false;
		const stdout = new OutputCollector("stdout", keep, options.onLine);
		const stderr = new OutputCollector("stderr", keep, options.onLine);
		let exit: { code: number | null; signal?: string } = { code: null };
		const finished = new Promise<RunResult>((resolve, reject) => {
			let pending = options.stdoutTo ? 2 : 1;
			const settle = (): void => {
				if (--pending === 0) resolve({ ...exit, stdout: stdout.end(), stderr: stderr.end() });
			};
			if (options.stdoutTo) {
				channel.pipe(options.stdoutTo);
				options.stdoutTo.once("finish", settle).once("error", reject);
			} else {
				channel.on("data", (chunk: Buffer) => stdout.push(chunk));
			}
			channel.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
			channel.on("exit", (code: number | null, signal?: string) => {
				exit = code === null ? { code: null, signal: signal?.replace(/^SIG/, "") } : { code };
			});
			// A quick command can exit before this listener exists; ssh2 repeats the exit status on close.
			channel.once("close", (code?: number | null, signal?: string) => {
				if (exit.code === null && exit.signal === undefined) {
					if (typeof code === "number") exit = { code };
					else if (signal) exit = { code: null, signal: signal.replace(/^SIG/, "") };
				}
				settle();
			});
			if (options.stdinFrom) {
				options.stdinFrom.once("error", reject);
				options.stdinFrom.pipe(channel);
			} else if (options.input !== undefined) {
				channel.end(options.input);
			} else if (!options.pty) {
				// A pty has no half-close; there an unended stdin is the terminal's, as in an interactive ssh.
				channel.end();
			}
		});
		return this.guard(session, what, finished, () => {
			options.stdinFrom?.destroy();
			this.stopChannel(channel);
		}, options);
	}

	/**
	 * Settles with work, unless the connection drops ("disconnected"), signal aborts ("cancelled") or time runs out
	 * ("timeout") first; in the last two cases stop() is called so that the work ends on the target too.
	 */
	private guard<T>(session: Session, what: string, work: Promise<T>, stop: () => void, options: { signal?: AbortSignal; timeoutMs?: number }): Promise<T> {
		return new Promise<T>((resolve, reject) => {
			let done = false;
			const finish = (settle: () => void): void => {
				if (done) return;
				done = true;
				clearTimeout(timer);
				session.onDrop.delete(onDrop);
				options.signal?.removeEventListener("abort", onAbort);
				this.release(session, 1);
				settle();
			};
			const onDrop = (reason: string): void => finish(() => reject(this.closed ? cancelledError(this.description, capitalise(what)) : this.lostError(capitalise(what), reason)));
			const onAbort = (): void => finish(() => (stop(), reject(cancelledError(this.description, capitalise(what)))));
			const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => finish(() => (stop(), reject(timeoutError(this.description, capitalise(what), options.timeoutMs ?? 0)))), options.timeoutMs);
			session.busy++;
			session.onDrop.add(onDrop);
			options.signal?.addEventListener("abort", onAbort, { once: true });
			if (!session.alive) onDrop(session.closeReason ?? session.lastError ?? "the connection closed");
			else if (options.signal?.aborted) onAbort();
			work.then(
				(value) => finish(() => resolve(value)),
				(error: unknown) => finish(() => reject(!session.alive ? this.lostError(capitalise(what), session.closeReason ?? session.lastError ?? String(error)) : error)),
			);
		});
	}

	/** Asks the command to stop and closes its channel; with a pty the close hangs the command up. */
	private stopChannel(channel: ClientChannel): void {
		try {
			// OpenSSH ignores this for root logins (no privilege separation after login); the close below still works on a pty.
			channel.signal("TERM");
			channel.close();
		} catch {
			return;
		}
		const closed = new Promise<void>((resolve) => {
			const timer = setTimeout(resolve, CLOSE_WAIT_MS);
			channel.once("close", () => (clearTimeout(timer), resolve()));
		});
		this.closingChannels.add(closed);
		void closed.then(() => this.closingChannels.delete(closed));
	}

	/** The connection's SFTP session, opened once; undefined when the server has no SFTP subsystem. */
	private async sftpSession(signal?: AbortSignal): Promise<{ session: Session; sftp: SFTPWrapper } | undefined> {
		if (this.sftpMissing) return undefined;
		const current = this.session;
		if (current?.alive && current.sftp) return { session: current, sftp: current.sftp };
		this.sftpOpening ??= this.openSftp().finally(() => (this.sftpOpening = undefined));
		return await abortable(this.sftpOpening, signal, () => cancelledError(this.description, "Starting SFTP"));
	}

	private async openSftp(): Promise<{ session: Session; sftp: SFTPWrapper } | undefined> {
		try {
			const { session, channel: sftp } = await this.openChannel("starting SFTP", undefined, (client) => {
				return new Promise<SFTPWrapper>((resolve, reject) => client.sftp((error, sftp) => (error ? reject(error) : resolve(sftp))));
			});
			session.sftp = sftp;
			sftp.once("close", () => {
				if (session.sftp === sftp) session.sftp = undefined;
			});
			return { session, sftp };
		} catch (error) {
			if (!/Unable to start subsystem/i.test((error as Error).message)) throw error;
			this.sftpMissing = true;
			this.log(`${this.description}: the server has no SFTP subsystem; copying files with cat instead.`);
			return undefined;
		}
	}

	private async putViaSftp({ session, sftp }: { session: Session; sftp: SFTPWrapper }, localPath: string, temp: string, size: number, what: string, options: TransferOptions): Promise<void> {
		const transfer = new Promise<void>((resolve, reject) => {
			sftp.fastPut(localPath, temp, { mode: options.mode ?? 0o644, step: (done) => options.onProgress?.(done, size) }, (error) => (error ? reject(error) : resolve()));
		});
		await this.guard(session, what, transfer, () => sftp.end(), options);
	}

	private async commitViaSftp({ session, sftp }: { session: Session; sftp: SFTPWrapper }, temp: string, remotePath: string, size: number, what: string, options: TransferOptions): Promise<void> {
		const call = <T>(op: (done: (error: Error | undefined | null, value?: T) => void) => void): Promise<T> =>
			this.guard(session, what, new Promise<T>((resolve, reject) => op((error, value) => (error ? reject(error) : resolve(value as T)))), () => undefined, options);
		const stats = await call<{ size: number }>((done) => sftp.stat(temp, done));
		if (stats.size !== size) throw new Error(`the target received ${stats.size} of ${size} bytes`);
		if (options.mode !== undefined) await call((done) => sftp.chmod(temp, options.mode ?? 0o644, done));
		try {
			// posix-rename replaces the destination in one step; plain SFTP rename refuses an existing destination.
			await call((done) => sftp.ext_openssh_rename(temp, remotePath, done));
		} catch (error) {
			if (!/not support/i.test((error as Error).message)) throw error;
			await this.commitViaShell(temp, remotePath, size, options);
		}
	}

	private async putViaCat(localPath: string, temp: string, size: number, what: string, options: TransferOptions): Promise<void> {
		const { session, channel } = await this.openExec(`cat > ${shellQuote(temp)}`, what, options);
		// Opened only now: a listener on a stream that has nowhere to go yet would drop its first chunks.
		const input = fs.createReadStream(localPath);
		let done = 0;
		input.on("data", (chunk) => options.onProgress?.((done += chunk.length), size));
		const result = await this.drive(session, channel, what, { signal: options.signal, stdinFrom: input });
		if (result.code !== 0) throw new Error(result.stderr.trim() || `cat exited with code ${result.code}`);
	}

	/** Checks the size of the temporary, sets its mode and renames it over the destination, in one remote shell. */
	private async commitViaShell(temp: string, remotePath: string, size: number, options: TransferOptions): Promise<void> {
		const script = 'n=$(($(wc -c < "$1"))) && if [ "$n" != "$3" ]; then echo "the target received $n of $3 bytes" >&2; exit 1; fi && { [ -z "$4" ] || chmod "$4" "$1"; } && mv -f "$1" "$2"';
		const mode = options.mode === undefined ? "" : options.mode.toString(8);
		const result = await this.run("sh", ["-c", script, "sh", temp, remotePath, String(size), mode], { signal: options.signal });
		if (result.code !== 0) throw new Error(result.stderr.trim() || `the final rename exited with code ${result.code}`);
	}

	/** Removes an upload's temporary now if the connection is up, or else on the next connect. */
	private async removeTemp(temp: string): Promise<void> {
		this.strandedTemps.add(temp);
		const session = this.session;
		if (!session?.alive || this.closed) return;
		await this.removeStrandedTemps(session);
	}

	private async removeStrandedTemps(session: Session): Promise<void> {
		if (this.strandedTemps.size === 0) return;
		const temps = [...this.strandedTemps];
		const removed = await new Promise<boolean>((resolve) => {
			try {
				session.client.exec(shellCommand("rm", ["-f", "--", ...temps]), (error, channel) => {
					if (error) return resolve(false);
					channel.on("exit", (code: number | null) => resolve(code === 0)).on("close", () => resolve(false)).resume();
					channel.stderr.resume();
					channel.end();
				});
			} catch {
				resolve(false);
			}
		});
		if (removed) for (const temp of temps) this.strandedTemps.delete(temp);
		else this.log(`${this.description}: could not remove ${temps.join(", ")} yet; will try again on the next connect.`);
	}

	private lostError(what: string, reason: string): TargetError {
		return new TargetError(
			`The connection to ${this.description} was lost while ${lowerFirst(what)} (${reason}). It may or may not have completed there; try again once the target is reachable.`,
			"disconnected",
			this.description,
		);
	}

	private transferError(error: unknown, prefix: string, noSuchFile: string): TargetError {
		if (error instanceof TargetError) return error;
		const sftpCode = (error as { code?: unknown }).code;
		const why = sftpCode === 2 ? noSuchFile : sftpCode === 3 ? "permission denied" : (error as Error).message;
		return new TargetError(`${prefix}: ${why}.`, "transfer", this.description, { cause: error });
	}
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, cancelled: () => Error): Promise<T> {
	if (!signal) return promise;
	if (signal.aborted) return Promise.reject(cancelled());
	return new Promise<T>((resolve, reject) => {
		const onAbort = (): void => reject(cancelled());
		signal.addEventListener("abort", onAbort, { once: true });
		promise.then(
			(value) => (signal.removeEventListener("abort", onAbort), resolve(value)),
			(error: unknown) => (signal.removeEventListener("abort", onAbort), reject(error)),
		);
	});
}

function capitalise(text: string): string {
	return text.charAt(0).toUpperCase() + text.slice(1);
}

function lowerFirst(text: string): string {
	return text.charAt(0).toLowerCase() + text.slice(1);
}
