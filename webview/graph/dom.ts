// DOM helpers. Text always goes in through textContent, never as markup: node names come from the model file.
import { el, fillPlaceholders, icon } from "../shared/dom";
import { GRAPH_STRINGS, type GraphStringKey } from "./strings";

export { el, icon };

let strings: Record<string, string> = {};

export function setStrings(localized: Record<string, string>): void {
	strings = localized;
}

export function t(key: GraphStringKey, ...args: (string | number)[]): string {
	return fillPlaceholders(strings[key] ?? GRAPH_STRINGS[key], args);
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number> = {}, className?: string): SVGElementTagNameMap[K] {
	const element = document.createElementNS(SVG_NS, tag);
	for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
	if (className) element.setAttribute("class", className);
	return element;
}

/** A @vscode-elements component, created by tag name (the library is loaded by the page, not bundled). */
export function component<T extends HTMLElement = HTMLElement>(tag: string, attributes: Record<string, string | boolean> = {}, text?: string): T {
	const element = document.createElement(tag) as T;
	for (const [name, value] of Object.entries(attributes)) {
		if (value === true) element.setAttribute(name, "");
		else if (value !== false) element.setAttribute(name, value);
	}
	if (text !== undefined) element.textContent = text;
	return element;
}

/** A vscode-button with a codicon and a label. */
export function button(label: string, iconName: string | undefined, onClick: () => void, options: { secondary?: boolean; iconOnly?: boolean } = {}): HTMLElement {
	const element = component("vscode-button", {
		...(iconName ? { icon: iconName } : {}),
		secondary: options.secondary ?? false,
		"icon-only": options.iconOnly ?? false,
		title: label,
		"aria-label": label,
	}, options.iconOnly ? undefined : label);
	element.addEventListener("click", onClick);
	return element;
}

export function formatCount(n: number): string {
	return n.toLocaleString("en-US");
}
