import { SandboxError } from "./sandboxTypes";

/** Words qemu appends to the kernel command line: one option each, so no whitespace and nothing a parser could split or quote. */
export function validateAppendWords(words: readonly string[]): string[] {
	for (const word of words) {
		if (word === "" || /[\s"'`\\]/.test(word)) {
			throw new SandboxError(`The kernel command line word ${JSON.stringify(word)} (--append) is empty or has a space, quote or backslash: pass one option per --append, like --append slub_debug=FZPU.`);
		}
	}
	return [...words];
}

interface DebugCheck {
	/** The kernel command line word, or null for a check that has no switch (only a config option). */
	word: string | null;
	/** Config symbols that must all be y for the check to exist in this kernel. */
	needs: string[];
	/** What it catches, as the closing note says it. */
	catches: string;
}

const CHECKS: readonly DebugCheck[] = [
	{ word: "slub_debug=FZPU", needs: ["CONFIG_SLUB_DEBUG"], catches: "slab sanity checks, red zones, poisoning and owner tracking (out-of-bounds writes and use-after-free of kmalloc memory)" },
	{ word: "kfence.sample_interval=1", needs: ["CONFIG_KFENCE"], catches: "KFENCE guard pages around sampled allocations every 1 ms (out-of-bounds and use-after-free, reported with stacks)" },
	{ word: "page_poison=1", needs: ["CONFIG_PAGE_POISONING"], catches: "freed pages poisoned and checked on allocation (writes after free of whole pages)" },
	{ word: "debug_pagealloc=on", needs: ["CONFIG_DEBUG_PAGEALLOC"], catches: "freed pages unmapped (any access after free faults)" },
	{ word: null, needs: ["CONFIG_PROVE_LOCKING"], catches: "lockdep (lock order inversions, sleeping in atomic context with locks held)" },
	{ word: null, needs: ["CONFIG_KASAN"], catches: "KASAN (every out-of-bounds and use-after-free access)" },
	{ word: null, needs: ["CONFIG_DEBUG_ATOMIC_SLEEP"], catches: "might_sleep checks (sleeping in softirq or under a spinlock)" },
];

/**
 * The memory and locking debug options this kernel (by its config) supports, as command line words, and one sentence
 * per check saying whether it runs, for the closing note of a stress test.
 */
export function debugBootOptions(config: Map<string, string>): { append: string[]; checks: string[] } {
	const append: string[] = [];
	const checks: string[] = [];
	for (const check of CHECKS) {
		const missing = check.needs.filter((symbol) => config.get(symbol) !== "y");
		if (missing.length > 0) {
			checks.push(`off: ${check.catches}, because the kernel is built without ${missing.join(", ")}${check.word ? ` (${check.word} would be ignored)` : ""}.`);
			continue;
		}
		if (check.word) append.push(check.word);
		checks.push(`on: ${check.catches}${check.word ? ` (${check.word})` : ", built in"}.`);
	}
	// The kernel lets page poisoning take precedence over init_on_alloc/init_on_free (mm_core_init), so ask for only one.
	if (append.includes("page_poison=1")) {
		checks.push("off: init_on_free=1 (freed memory zeroed), because page_poison=1 takes precedence over it in the kernel.");
	} else {
		append.push("init_on_free=1");
		checks.push("on: freed memory zeroed (init_on_free=1).");
	}
	return { append, checks };
}
