// graph.config.pbtxt and inputs.json for a seed model, written from the seed's own feeds and fetches, then broken:
// extreme feed shapes, wrong names and types, text damage; inputs with wrong shapes, odd values, deep nesting, huge steps.
import { mutateText } from "./bytes";
import { EXTREME_DIMS, type Rng } from "./random";

export interface SeedFeed {
	name: string;
	shape: number[];
	dtype: "float32" | "int8";
}

export interface SeedIo {
	feeds: SeedFeed[];
	fetches: string[];
}

interface ConfigEntry {
	name: string;
	index?: number;
	shape?: number[];
	type?: string;
}

function writeConfig(feeds: ConfigEntry[], fetches: ConfigEntry[]): string {
	const id = (e: ConfigEntry) => `id { node_name: ${JSON.stringify(e.name)}${e.index !== undefined ? ` output_index: ${e.index}` : ""} }`;
	const lines = feeds.map((f) => `feed {\n  ${id(f)}\n  shape {${(f.shape ?? []).map((d) => ` dim { size: ${d} }`).join("")} }${f.type ? `\n  type: ${f.type}` : ""}\n}`);
	return [...lines, ...fetches.map((f) => `fetch { ${id(f)} }`)].join("\n") + "\n";
}

const HOSTILE_NAMES = ["ghost", "", "\u001b[31mred", "x\r", "n0:5", "x:0", "../../x", "a".repeat(3000)];
const BAD_TYPES = ["DT_STRING", "DT_RESOURCE", "DT_VARIANT", "DT_HALF", "DT_BOGUS", "99", "-1"];

/** The seed's config, and with probability `p` one structural or text mutation of it. */
export function makeConfig(io: SeedIo, rng: Rng, p: number): { text: string; mutation?: string } {
	const feeds: ConfigEntry[] = io.feeds.map((f) => ({ name: f.name, shape: [...f.shape] }));
	const fetches: ConfigEntry[] = io.fetches.map((name) => ({ name }));
	if (!rng.chance(p)) return { text: writeConfig(feeds, fetches) };
	const feed = rng.pick(feeds);
	let mutation: string;
	switch (rng.int(8)) {
		case 0: {
			const size = rng.pick([...EXTREME_DIMS, 4096, 65536]);
			if (feed.shape!.length === 0 || rng.chance(0.2)) feed.shape!.push(size);
			else feed.shape![rng.int(feed.shape!.length)] = size;
			mutation = `feed ${feed.name}: shape [${feed.shape!.join(",")}]`;
			break;
		}
		case 1:
			feed.shape = rng.chance(0.5) ? [] : [...feed.shape!, ...feed.shape!];
			mutation = `feed ${feed.name}: rank changed`;
			break;
		case 2: {
			const name = rng.pick(HOSTILE_NAMES);
			(rng.chance(0.5) ? feed : rng.pick(fetches)).name = name;
			mutation = `a feed or fetch named ${JSON.stringify(name.slice(0, 40))}`;
			break;
		}
		case 3:
			(rng.chance(0.5) ? feed : rng.pick(fetches)).index = rng.pick([1, 99, -1, 2147483648]);
			mutation = "an output_index out of range";
			break;
		case 4:
			feed.type = rng.pick(BAD_TYPES);
			mutation = `feed ${feed.name}: type ${feed.type}`;
			break;
		case 5:
			if (rng.chance(0.5)) feeds.push({ ...feed });
			else fetches.push(...fetches);
			mutation = "a duplicate feed or fetch";
			break;
		case 6:
			if (rng.chance(0.5)) feeds.length = 0;
			else fetches.length = 0;
			mutation = "no feeds or no fetches";
			break;
		default: {
			const text = mutateText(writeConfig(feeds, fetches), rng);
			return { text, mutation: "config text damaged" };
		}
	}
	return { text: writeConfig(feeds, fetches), mutation };
}

function values(feed: SeedFeed, rng: Rng): unknown {
	const leaf = () => (feed.dtype === "int8" ? rng.int(255) - 127 : Math.fround(rng.float() * 2 - 1));
	const build = (dim: number): unknown => (dim === feed.shape.length ? leaf() : Array.from({ length: Math.max(0, feed.shape[dim]) }, () => build(dim + 1)));
	return build(0);
}

function deep(depth: number): string {
	return "[".repeat(depth) + "0" + "]".repeat(depth);
}

/** The inputs.json text for the seed's feeds, and with probability `p` one mutation of it. */
export function makeInputs(io: SeedIo, rng: Rng, p: number): { text: string; mutation?: string } {
	const feeds: Record<string, unknown> = Object.fromEntries(io.feeds.map((f) => [f.name, values(f, rng)]));
	const inputs: Record<string, unknown> = { feeds, steps: 1 + rng.int(3) };
	if (!rng.chance(p)) return { text: JSON.stringify(inputs) };
	const name = rng.pick(io.feeds).name;
	switch (rng.int(9)) {
		case 0:
			inputs.steps = rng.pick([1e9, 2 ** 31, 0, -1, 1.5, "10", 1e300, null]);
			return { text: JSON.stringify(inputs), mutation: `steps ${String(inputs.steps)}` };
		case 1: {
			const depth = rng.pick([100, 10000, 100000]);
			return { text: JSON.stringify(inputs).replace(JSON.stringify(feeds[name]), deep(depth)), mutation: `feed ${name} nested ${depth} deep` };
		}
		case 2: {
			const value = rng.pick(["\"text\"", "null", "true", "{}", "1e999", "-1e999", "[]", "[[]]", "[1,[2]]", "9007199254740993"]);
			const json = JSON.stringify(inputs);
			const at = json.search(/-?\d+(\.\d+)?(e-?\d+)?(?=[,\]])/);
			return { text: at < 0 ? json : json.slice(0, at) + value + json.slice(at).replace(/^-?\d+(\.\d+)?(e-?\d+)?/, ""), mutation: `a value ${value}` };
		}
		case 3:
			feeds[name] = rng.chance(0.5) ? (feeds[name] as unknown[])[0] : [feeds[name], feeds[name]];
			return { text: JSON.stringify(inputs), mutation: `feed ${name}: wrong shape` };
		case 4: {
			const count = rng.pick([1, 1000, 100000]);
			delete inputs.feeds;
			inputs.steps = rng.chance(0.5) ? count : undefined;
			inputs.feedsPerStep = Array.from({ length: rng.chance(0.3) ? 0 : Math.min(count, 1000) }, () => feeds);
			return { text: JSON.stringify(inputs), mutation: `feedsPerStep with ${count} steps` };
		}
		case 5:
			inputs.feedback = rng.pick([{ [name]: "ghost" }, { ghost: io.fetches[0] }, { [name]: io.fetches[0] }, { [name]: 7 }, []]);
			inputs.steps = rng.pick([2, 1000]);
			return { text: JSON.stringify(inputs), mutation: `feedback ${JSON.stringify(inputs.feedback)}` };
		case 6:
			return { text: rng.pick(["[]", "null", "\"feeds\"", "{}", "{\"feeds\": []}", "{\"feeds\": null}", ""]), mutation: "not an inputs object" };
		case 7: {
			// A wide flat array: parsing and checking it must stay within the budget.
			const count = rng.pick([1e5, 1e6]);
			feeds[name] = [];
			return { text: JSON.stringify(inputs).replace("[]", `[${"0,".repeat(count - 1)}0]`), mutation: `feed ${name}: ${count} values` };
		}
		default:
			return { text: mutateText(JSON.stringify(inputs), rng), mutation: "inputs text damaged" };
	}
}
