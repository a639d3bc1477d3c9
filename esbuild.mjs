// Bundles the extension host and the CLI (CommonJS, Node) and the two webviews (browser) into dist/.
// `node esbuild.mjs --cli-only FILE` bundles just the CLI to FILE (the tests use it).
import * as fs from "node:fs";
import * as path from "node:path";
import * as esbuild from "esbuild";

const production = process.argv.includes("--production");
const cliOnly = process.argv.indexOf("--cli-only");

const common = {
	bundle: true,
	platform: "node",
	format: "cjs",
	target: "node20",
	sourcemap: !production,
	sourcesContent: false,
	minify: production,
	logLevel: "warning",
	// ssh2 ships optional native addons that must not be bundled; it falls back to JavaScript without them.
	external: ["vscode", "cpu-features", "./crypto/build/Release/sshcrypto.node"],
};

const cli = { ...common, entryPoints: ["extension/cli/knn.ts"], banner: { js: "#!/usr/bin/env node" } };

const WEBVIEW_OUT = "dist/webview";
// Each webview is one ES module with no Node and no eval (the CSP forbids it), and one stylesheet: the CSS its
// entry imports (bundled by esbuild), else its CSS file copied as it is.
const WEBVIEWS = [
	{ entry: "webview/graph/main.ts", css: "webview/graph/graph.css", name: "graph" },
	{ entry: "webview/compare/main.ts", css: "webview/compare/compare.css", name: "compare" },
	{ entry: "webview/datapath/main.ts", css: "webview/datapath/datapath.css", name: "datapath" },
];
// Files the webview HTML loads besides the entries (see extension/vscode/webviewHtml.ts).
const WEBVIEW_ASSETS = [
	["node_modules/@vscode/codicons/dist/codicon.css", "codicon.css"],
	["node_modules/@vscode/codicons/dist/codicon.ttf", "codicon.ttf"],
	["node_modules/@vscode-elements/elements/dist/bundled.js", "elements.js"],
];

// A stylesheet a webview imports but its part has not written yet builds as empty, with a warning.
const missingCssIsEmpty = {
	name: "missing-css-is-empty",
	setup(build) {
		build.onResolve({ filter: /\.css$/ }, (args) => {
			const file = path.resolve(args.resolveDir, args.path);
			if (args.path.startsWith(".") && !fs.existsSync(file)) return { path: file, namespace: "missing-css" };
			return undefined;
		});
		build.onLoad({ filter: /.*/, namespace: "missing-css" }, (args) => ({
			contents: "", loader: "css", warnings: [{ text: `${path.relative(".", args.path)} does not exist yet; it is built as an empty stylesheet` }],
		}));
	},
};

function buildWebviews() {
	fs.mkdirSync(WEBVIEW_OUT, { recursive: true });
	for (const [from, to] of WEBVIEW_ASSETS) fs.copyFileSync(from, path.join(WEBVIEW_OUT, to));
	return WEBVIEWS.map(async (view) => {
		const cssOut = path.join(WEBVIEW_OUT, `${view.name}.css`);
		fs.rmSync(cssOut, { force: true });
		fs.rmSync(`${cssOut}.map`, { force: true });
		// Each part writes its own webview; one that is not there yet must not break the others' build.
		if (!fs.existsSync(view.entry)) {
			console.warn(`esbuild: ${view.entry} does not exist yet; ${WEBVIEW_OUT}/${view.name}.js is not built`);
			return;
		}
		await esbuild.build({
			bundle: true, platform: "browser", format: "esm", target: "es2022", sourcemap: !production, sourcesContent: false,
			minify: production, logLevel: "warning", entryPoints: [view.entry], outfile: path.join(WEBVIEW_OUT, `${view.name}.js`),
			// The webview tsconfig carries the DOM lib; the root one is for Node.
			tsconfig: "webview/tsconfig.json",
			plugins: [missingCssIsEmpty],
		});
		if (!fs.existsSync(cssOut) && fs.existsSync(view.css)) fs.copyFileSync(view.css, cssOut);
	});
}

// A production build has no source maps; old ones from a development build would only be shipped by mistake.
if (production) {
	for (const dir of ["dist", WEBVIEW_OUT]) {
		if (!fs.existsSync(dir)) continue;
		for (const file of fs.readdirSync(dir)) if (file.endsWith(".map")) fs.rmSync(path.join(dir, file));
	}
}

if (cliOnly >= 0) {
	await esbuild.build({ ...cli, outfile: process.argv[cliOnly + 1], sourcemap: false });
} else {
	await Promise.all([
		esbuild.build({ ...common, entryPoints: ["extension/extension.ts"], outfile: "dist/extension.js" }),
		// The config check's worker thread (see extension/vscode/configCheckClient.ts), loaded beside extension.js.
		esbuild.build({ ...common, entryPoints: ["extension/vscode/configCheckWorker.ts"], outfile: "dist/configCheckWorker.js" }),
		esbuild.build({ ...cli, outfile: "dist/knn.js" }),
		...buildWebviews(),
	]);
}
