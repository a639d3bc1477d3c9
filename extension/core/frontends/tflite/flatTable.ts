// Bounds-checked flatbuffer table access over the flatbuffers runtime's ByteBuffer: a corrupt offset becomes a
// ModelLoadError naming the file and the table/field, never a RangeError or a silently wrong zero.
import { ByteBuffer } from "flatbuffers";
import { ModelLoadError } from "../model";

/** A flatbuffer being read: the bytes, and the file name every error message starts with. */
export class FlatFile {
	readonly bb: ByteBuffer;
	readonly size: number;

	constructor(readonly bytes: Uint8Array, readonly file: string) {
		this.bb = new ByteBuffer(bytes);
		this.size = bytes.length;
	}

	fail(where: string, what: string): never {
		throw new ModelLoadError(`${this.file}: TFLite ${where} ${what}; the file is truncated or corrupt (re-export or re-download it).`);
	}

	/** Checks that [pos, pos + length) lies inside the file. */
	need(pos: number, length: number, where: string): void {
		if (!Number.isSafeInteger(pos) || pos < 0 || length < 0 || pos + length > this.size) {
			this.fail(where, `points at bytes ${pos}..${pos + length}, outside the file's ${this.size} bytes`);
		}
	}

	/** The table whose offset is stored at `pos` (a uoffset: the root, a field or a vector element). */
	tableAt(pos: number, where: string): FlatTable {
		this.need(pos, 4, where);
		const table = pos + this.bb.readUint32(pos);
		this.need(table, 4, where);
		const vtable = table - this.bb.readInt32(table);
		this.need(vtable, 4, `${where} vtable`);
		const vtableSize = this.bb.readUint16(vtable);
		const tableSize = this.bb.readUint16(vtable + 2);
		if (vtableSize < 4 || vtableSize % 2 !== 0) this.fail(where, `has a vtable of ${vtableSize} bytes`);
		this.need(vtable, vtableSize, `${where} vtable`);
		this.need(table, tableSize, where);
		return new FlatTable(this, table, vtable, vtableSize, tableSize, where);
	}
}

/** One table: fields by id (vtable slot 4 + 2 * id), each read with its size checked against the table and the file. */
export class FlatTable {
	constructor(private readonly f: FlatFile, private readonly pos: number, private readonly vtable: number,
		private readonly vtableSize: number, private readonly tableSize: number, readonly where: string) {}

	/** The absolute position of field `id`, or 0 when the field is absent (then it reads as its default). */
	private field(id: number, width: number, name: string): number {
		const slot = 4 + 2 * id;
		if (slot + 2 > this.vtableSize) return 0;
		const offset = this.f.bb.readUint16(this.vtable + slot);
		if (offset === 0) return 0;
		if (offset + width > this.tableSize) this.f.fail(`${this.where}.${name}`, `lies past the end of its table (byte ${offset} of ${this.tableSize})`);
		return this.pos + offset;
	}

	has(id: number): boolean {
		const slot = 4 + 2 * id;
		return slot + 2 <= this.vtableSize && this.f.bb.readUint16(this.vtable + slot) !== 0;
	}

	int8(id: number, name: string, fallback = 0): number {
		const at = this.field(id, 1, name);
		return at ? this.f.bb.readInt8(at) : fallback;
	}

	uint8(id: number, name: string, fallback = 0): number {
		const at = this.field(id, 1, name);
		return at ? this.f.bb.readUint8(at) : fallback;
	}

	bool(id: number, name: string, fallback = false): boolean {
		const at = this.field(id, 1, name);
		return at ? this.f.bb.readUint8(at) !== 0 : fallback;
	}

	int32(id: number, name: string, fallback = 0): number {
		const at = this.field(id, 4, name);
		return at ? this.f.bb.readInt32(at) : fallback;
	}

	uint32(id: number, name: string, fallback = 0): number {
		const at = this.field(id, 4, name);
		return at ? this.f.bb.readUint32(at) : fallback;
	}

	float32(id: number, name: string, fallback = 0): number {
		const at = this.field(id, 4, name);
		return at ? this.f.bb.readFloat32(at) : fallback;
	}

	/** A uint64 as a number; values past 2^53 cannot be file offsets or sizes and are refused. */
	uint64(id: number, name: string): number {
		const at = this.field(id, 8, name);
		if (!at) return 0;
		const value = this.f.bb.readUint64(at);
		if (value > BigInt(Number.MAX_SAFE_INTEGER)) this.f.fail(`${this.where}.${name}`, `holds ${value}, too large for an offset or size`);
		return Number(value);
	}

	/** The start and length of a vector field of `elementSize`-byte elements, or undefined when absent. */
	private vector(id: number, name: string, elementSize: number): { start: number; length: number } | undefined {
		const at = this.field(id, 4, name);
		if (!at) return undefined;
		const where = `${this.where}.${name}`;
		const vector = at + this.f.bb.readUint32(at);
		this.f.need(vector, 4, where);
		const length = this.f.bb.readUint32(vector);
		this.f.need(vector + 4, length * elementSize, where);
		return { start: vector + 4, length };
	}

	bytes(id: number, name: string): Uint8Array | undefined {
		const v = this.vector(id, name, 1);
		return v && this.f.bytes.subarray(v.start, v.start + v.length);
	}

	string(id: number, name: string): string | undefined {
		const raw = this.bytes(id, name);
		return raw && new TextDecoder().decode(raw);
	}

	int32s(id: number, name: string): number[] | undefined {
		const v = this.vector(id, name, 4);
		return v && Array.from({ length: v.length }, (_, i) => this.f.bb.readInt32(v.start + 4 * i));
	}

	float32s(id: number, name: string): number[] | undefined {
		const v = this.vector(id, name, 4);
		return v && Array.from({ length: v.length }, (_, i) => this.f.bb.readFloat32(v.start + 4 * i));
	}

	/** int64 values as numbers (zero points: small by construction; a huge one is refused). */
	int64s(id: number, name: string): number[] | undefined {
		const v = this.vector(id, name, 8);
		return v && Array.from({ length: v.length }, (_, i) => {
			const value = this.f.bb.readInt64(v.start + 8 * i);
			if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) {
				this.f.fail(`${this.where}.${name}[${i}]`, `holds ${value}, out of range`);
			}
			return Number(value);
		});
	}

	table(id: number, name: string): FlatTable | undefined {
		const at = this.field(id, 4, name);
		return at ? this.f.tableAt(at, `${this.where}.${name}`) : undefined;
	}

	tables(id: number, name: string): FlatTable[] {
		const v = this.vector(id, name, 4);
		if (!v) return [];
		return Array.from({ length: v.length }, (_, i) => this.f.tableAt(v.start + 4 * i, `${this.where}.${name}[${i}]`));
	}
}
