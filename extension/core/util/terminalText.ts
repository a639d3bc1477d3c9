// Model files, configs and kernel logs are written by others: a node name holding ESC[2J, a carriage return or a
// right-to-left override would clear, overwrite or reorder what a terminal shows. Such characters are printed as
// escapes (\x1b, \r as \x0d, \u202e) instead.

// C0 controls but tab and newline, DEL, C1 controls (0x9b is a one-byte CSI on some terminals), the bidi
// embeddings, overrides, isolates and marks, and the line and paragraph separators.
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_IN_LINE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeCharacter(c: string): string {
	const code = c.charCodeAt(0);
	return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** Text for a terminal, lines and tabs kept: every other control or bidi character is shown escaped. */
export function terminalText(text: string): string {
	return text.replace(UNSAFE, escapeCharacter);
}

/** One name or value for a terminal line: newlines and tabs are escaped too, so it cannot start a line of its own. */
export function terminalName(text: string): string {
	return text.replace(UNSAFE_IN_LINE, escapeCharacter);
}

/**
 * JSON text for a terminal. JSON.stringify already escapes C0 controls; DEL, C1 and the bidi characters can only
 * stand inside its strings, where \u escapes keep the JSON valid and the value the same.
 */
export function terminalJson(json: string): string {
	return json.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
