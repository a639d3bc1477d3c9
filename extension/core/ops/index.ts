// The op table: one entry per op for the interpreter, constant folding and the compiler (see table.ts).
export { type CompilerRule, type Folding, OP_TABLE, type OpEntry, compilerOps, foldingOf, interpreterOps, opEntry } from "./table";
export { compileTimeConstants, compilerSupport, unsupportedOps } from "./support";
export { VARIABLE_OPS, isVariable, isVariableOp } from "./variables";
