import { randomBytes } from "node:crypto";
import * as vscode from "vscode";

/** Webview options that allow scripts and nothing outside the built webview folder. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
	return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, "dist", "webview")] };
}

/**
 * An empty page with a strict CSP: no inline code, scripts only with this page's nonce, styles and fonts from
 * the webview's own origin. The data comes later, through messages, never in the HTML.
 */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, entry: "graph" | "compare" | "datapath", title: string): string {
	const nonce = randomBytes(18).toString("base64");
	const asset = (file: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, "dist", "webview", file)).toString();
	const csp = [
		"default-src 'none'",
		`img-src ${webview.cspSource} data:`,
		`style-src ${webview.cspSource}`,
		`font-src ${webview.cspSource}`,
		`script-src 'nonce-${nonce}'`,
	].join("; ");
	return /* html */ `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${asset("codicon.css")}" id="vscode-codicon-stylesheet">
<link rel="stylesheet" href="${asset(`${entry}.css`)}">
<title>${title.replace(/[<>&"]/g, "")}</title>
</head>
<body>
<script type="module" nonce="${nonce}" src="${asset("elements.js")}"></script>
<script type="module" nonce="${nonce}" src="${asset(`${entry}.js`)}"></script>
</body>
</html>`;
}
