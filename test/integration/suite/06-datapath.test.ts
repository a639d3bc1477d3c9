import * as assert from "node:assert/strict";
import { suite, suiteSetup, suiteTeardown, test } from "mocha";
import * as vscode from "vscode";
import type { KernelNNApi } from "../../../extension/vscode/api";
import { closeAllEditors, extensionApi, sandboxUnavailable, skipBecause, waitFor } from "../support";

// The Datapath view against the sandbox VM's real knn_core: Install Datapath Runtime builds and loads it, the view
// lists its applications, and an application's panel renders what the kernel reports.
suite("Datapath view: knn_core's applications on the sandbox target", () => {
	let api: KernelNNApi;

	suiteSetup(async function () {
		if (sandboxUnavailable()) skipBecause(this, sandboxUnavailable()!);
		api = await extensionApi();
		await closeAllEditors();
	});
	suiteTeardown(closeAllEditors);

	test("Install Datapath Runtime loads knn_core with the tcp and netfilter applications, and the view lists them", async function () {
		this.timeout(600_000);
		await vscode.commands.executeCommand("kernelNN.startSandbox");
		await vscode.commands.executeCommand("kernelNN.runtimeInstall", { target: "sandbox" });
		const items = await api.datapath.items("sandbox");
		const apps = items.filter((item) => item.kind === "app").map((item) => item.app);
		assert.ok(apps.includes("tcp") && apps.includes("netfilter"), `the Datapath view lists ${JSON.stringify(items.map((i) => `${i.kind}:${i.label}`))}`);
	});

	test("the panel of the tcp application renders its name and stream state from the kernel", async function () {
		this.timeout(120_000);
		await vscode.commands.executeCommand("kernelNN.datapath.openPanel", { target: "sandbox", app: "tcp" });
		const summary = await waitFor(async () => {
			const value = (await api.datapath.panelSummary("sandbox", "tcp").catch(() => undefined)) as { app?: string; stream?: string } | undefined;
			return value?.app?.includes("tcp") ? value : undefined;
		}, 60_000, "the Datapath panel to render the tcp application");
		assert.ok(summary.app?.includes("tcp"), JSON.stringify(summary));
	});
});
