import { appTemplate } from "./app";
import { selftestTemplate } from "./selftest";
import { tcpTemplate } from "./tcp";
import { ModuleProjectError, type ModuleTemplateDefinition } from "./template";

// The module templates by name: one folder under kmod/templates/ and one module here each. The project writer, the
// CLI and deploy ask this registry rather than naming templates themselves.

export const MODULE_TEMPLATES = ["selftest", "tcp", "app"] as const;
export type ModuleTemplate = (typeof MODULE_TEMPLATES)[number];

const DEFINITIONS: Readonly<Record<ModuleTemplate, ModuleTemplateDefinition>> = {
	selftest: selftestTemplate,
	tcp: tcpTemplate,
	app: appTemplate,
};

export function isModuleTemplate(name: string): name is ModuleTemplate {
	return (MODULE_TEMPLATES as readonly string[]).includes(name);
}

/** The template's definition; an unknown name is a ModuleProjectError listing the known ones. */
export function moduleTemplate(name: string): ModuleTemplateDefinition {
	if (!isModuleTemplate(name)) {
		throw new ModuleProjectError(`Unknown module template ${JSON.stringify(name)}: use ${MODULE_TEMPLATES.map((t) => `"${t}"`).join(", ")}.`);
	}
	return DEFINITIONS[name];
}
