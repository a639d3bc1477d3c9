/**
 * TensorFlow's variable ops: what freezing turns into constants (ReadVariableOp into Identity). A leaf module, so
 * the interpreter, the loaders and the views can all name the set without pulling in the op table.
 */
export const VARIABLE_OPS: ReadonlySet<string> = new Set(["VariableV2", "Variable", "VarHandleOp", "ReadVariableOp", "TemporaryVariable"]);

/** Whether the op holds or reads a variable, which a checkpoint makes a constant. */
export function isVariableOp(op: string): boolean {
	return VARIABLE_OPS.has(op);
}

/** The ops that are variables themselves (not reads of one): what a checkpoint holds a value for. */
const VARIABLE_HOLDERS: ReadonlySet<string> = new Set(["VariableV2", "Variable", "VarHandleOp"]);

/** Whether the node of this op is a variable whose value the checkpoint holds. */
export function isVariable(op: string): boolean {
	return VARIABLE_HOLDERS.has(op);
}
