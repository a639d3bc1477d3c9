// DOM helpers every webview uses. Text always goes in through textContent, never as markup: names come from model
// files and kernels.

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
	const element = document.createElement(tag);
	if (className) element.className = className;
	if (text !== undefined) element.textContent = text;
	return element;
}

export function icon(name: string): HTMLElement {
	const element = el("span", `codicon codicon-${name}`);
	element.setAttribute("aria-hidden", "true");
	return element;
}

/** A localized string with {0}, {1}... replaced by args; a placeholder without an argument stays as it is. */
export function fillPlaceholders(text: string, args: readonly (string | number)[]): string {
	return text.replace(/\{(\d+)\}/g, (match, i: string) => (args[Number(i)] !== undefined ? String(args[Number(i)]) : match));
}

/** The page's <main id="app">, made on first use. */
export function appRoot(): HTMLElement {
	let main = document.getElementById("app");
	if (!main) {
		main = el("main");
		main.id = "app";
		document.body.append(main);
	}
	return main;
}
