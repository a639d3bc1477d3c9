// Feeds and fetches picked for graph.config.pbtxt, in pick order (the generated code's argument and result order).
import type { SignatureView } from "../shared/protocol";
import { button, el, icon, t } from "./dom";
import { type Picks, describeSignature, matchingSignature, signaturePicks } from "./pickModel";

export { type FeedPick, type Picks, defaultShapeText } from "./pickModel";

/** The shape a feed's text stands for: undefined for "" (declared shape), or an error. */
export function parseShapeText(text: string): { shape?: number[] } | { error: string } {
	const trimmed = text.trim();
	if (trimmed === "") return {};
	const inner = trimmed.replace(/^\[|\]$/g, "").trim();
	if (inner === "") return { shape: [] };
	const parts = inner.split(/\s*[x,×]\s*|\s+/);
	if (parts.some((p) => !/^\d+$/.test(p) || Number(p) === 0)) return { error: t("feedShapeInvalid", text) };
	return { shape: parts.map(Number) };
}

export class PicksBar {
	readonly element = el("footer", "picks");

	constructor(
		private readonly picks: () => Picks,
		private readonly change: (picks: Picks) => void,
		private readonly reveal: (name: string) => void,
		private readonly write: () => void,
		private readonly signatures: () => readonly SignatureView[] = () => [],
	) {}

	render(): void {
		const picks = this.picks();
		this.element.replaceChildren();
		this.renderSignatures(picks);
		if (picks.feeds.length === 0 && picks.fetches.length === 0) {
			this.element.append(el("span", "picks-empty", t(this.signatures().length > 0 ? "noPicksSignatures" : "noPicks")));
			return;
		}
		const list = (label: string, iconName: string, items: { name: string; detail?: string; invalid?: boolean }[], remove: (index: number) => void) => {
			const group = el("div", "pick-group");
			group.append(icon(iconName), el("span", "pick-label", `${label}:`));
			items.forEach((item, index) => {
				const chip = el("span", `chip${item.invalid ? " invalid" : ""}`);
				const link = el("button", "chip-name");
				link.type = "button";
				link.title = item.name;
				link.append(el("span", "chip-index", `${index + 1}`), el("span", undefined, item.name));
				if (item.detail) link.append(el("span", "chip-detail", item.detail));
				link.addEventListener("click", () => this.reveal(item.name));
				const close = el("button", "chip-remove");
				close.type = "button";
				close.title = t("remove");
				close.setAttribute("aria-label", `${t("remove")} ${item.name}`);
				close.append(icon("close"));
				close.addEventListener("click", () => remove(index));
				chip.append(link, close);
				group.append(chip);
			});
			if (items.length === 0) group.append(el("span", "muted", t("none")));
			this.element.append(group);
		};
		list(t("feeds"), "arrow-right", picks.feeds.map((f) => {
			const parsed = parseShapeText(f.shapeText);
			return { name: f.name, detail: f.shapeText.trim() === "" ? undefined : f.shapeText.trim(), invalid: "error" in parsed };
		}), (index) => this.change({ ...picks, feeds: picks.feeds.filter((_, i) => i !== index) }));
		list(t("fetches"), "arrow-left", picks.fetches.map((name) => ({ name })),
			(index) => this.change({ ...picks, fetches: picks.fetches.filter((_, i) => i !== index) }));

		const actions = el("div", "pick-actions");
		const problem = writeProblem(picks);
		const writeButton = button(t("writeConfig"), "save", () => {
			if (!writeProblem(this.picks())) this.write();
		});
		if (problem) {
			writeButton.setAttribute("disabled", "");
			writeButton.title = problem;
		}
		actions.append(button(t("clearPicks"), "clear-all", () => this.change({ feeds: [], fetches: [] }), { secondary: true }), writeButton);
		this.element.append(actions);
	}

	/** One button per signature: a click replaces the picks with the signature's feeds and fetches. */
	private renderSignatures(picks: Picks): void {
		const signatures = this.signatures();
		if (signatures.length === 0) return;
		const current = matchingSignature(picks, signatures);
		const group = el("div", "pick-group signatures");
		group.append(icon("symbol-interface"), el("span", "pick-label", `${t("signatures")}:`));
		for (const signature of signatures) {
			const label = t("useSignature", signature.key, describeSignature(signature));
			const pick = button(signature.key, undefined, () => this.change(signaturePicks(signature)), { secondary: signature.key !== current });
			pick.title = label;
			pick.setAttribute("aria-label", label);
			pick.setAttribute("aria-pressed", String(signature.key === current));
			pick.dataset.signature = signature.key;
			group.append(pick);
		}
		this.element.append(group);
	}
}

/** Why the picks cannot be written yet, or undefined. */
export function writeProblem(picks: Picks): string | undefined {
	if (picks.fetches.length === 0) return t("writeConfigNeedsFetch");
	const invalid = picks.feeds.find((f) => "error" in parseShapeText(f.shapeText));
	return invalid ? t("writeConfigInvalid", invalid.name) : undefined;
}
