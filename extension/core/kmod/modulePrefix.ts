import * as fs from "node:fs";
import * as path from "node:path";
import { codedError } from "../util/errors";
import { terminalName } from "../util/terminalText";

// The model prefix names the module (NAME.ko), its files (NAME.h, NAME_model.c, NAME_main.c), `struct NAME` and the
// functions NAME_run, NAME_constructor...: it must be a C identifier that no C keyword, kernel macro or template
// name can capture. knn compile, knn deploy and the VS Code tasks check it here, before touching any file.

/** A prefix (or another name that becomes a file or C identifier) Kernel NN cannot use; says which rule and what to do. */
export class PrefixError extends codedError("name", "PrefixError") {}

const PREFIX_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const PREFIX_MAX_LENGTH = 41;

/** C11 keywords, C23's new ones and GNU C's, which the kernel is built with. */
const C_KEYWORDS = new Set([
	"auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern", "float",
	"for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed", "sizeof", "static",
	"struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while",
	"_Alignas", "_Alignof", "_Atomic", "_Bool", "_Complex", "_Generic", "_Imaginary", "_Noreturn", "_Static_assert", "_Thread_local",
	"alignas", "alignof", "bool", "constexpr", "false", "nullptr", "static_assert", "thread_local", "true", "typeof", "typeof_unqual",
	"_BitInt", "_Decimal32", "_Decimal64", "_Decimal128", "asm", "fallthrough",
]);

/**
 * Macros, types, struct tags and functions in scope in module code through the headers the templates include
 * (linux/module.h, kernel.h, slab.h, sched.h, fs.h, miscdevice.h, mutex.h, kthread.h, net/tcp.h...). `struct NAME`
 * or a NAME macro clashing with one of these breaks the build or, worse, changes what it means.
 */
const KERNEL_NAMES = new Set([
	// Macros that expand in any position.
	"current", "jiffies", "jiffies_64", "HZ", "USER_HZ", "THIS_MODULE", "KBUILD_MODNAME", "KBUILD_BASENAME", "NULL",
	"min", "max", "min_t", "max_t", "min3", "max3", "clamp", "clamp_t", "clamp_val", "swap", "abs", "abs_diff",
	"ARRAY_SIZE", "BIT", "BIT_ULL", "GENMASK", "ALIGN", "DIV_ROUND_UP", "roundup", "rounddown", "round_up", "round_down",
	"likely", "unlikely", "container_of", "offsetof", "sizeof_field", "barrier", "READ_ONCE", "WRITE_ONCE",
	"BUG", "BUG_ON", "WARN", "WARN_ON", "WARN_ON_ONCE", "WARN_ONCE", "BUILD_BUG_ON", "IS_ENABLED", "noinline", "noreturn",
	"ERR_PTR", "PTR_ERR", "IS_ERR", "IS_ERR_OR_NULL", "ERR_CAST", "EXPORT_SYMBOL", "EXPORT_SYMBOL_GPL",
	"MODULE_LICENSE", "MODULE_AUTHOR", "MODULE_DESCRIPTION", "MODULE_VERSION", "MODULE_ALIAS", "MODULE_PARM_DESC",
	"MODULE_INFO", "MODULE_IMPORT_NS", "module_param", "module_param_named", "module_param_array", "module_param_cb",
	"module_init", "module_exit", "init_module", "cleanup_module", "late_initcall", "device_initcall",
	"printk", "pr_fmt", "pr_emerg", "pr_alert", "pr_crit", "pr_err", "pr_warn", "pr_notice", "pr_info", "pr_debug", "pr_cont",
	"pr_devel", "no_printk", "dev_err", "dev_info", "dev_warn", "dev_dbg",
	"KERN_SOH", "KERN_EMERG", "KERN_ALERT", "KERN_CRIT", "KERN_ERR", "KERN_WARNING", "KERN_NOTICE", "KERN_INFO", "KERN_DEBUG",
	"KERN_DEFAULT", "KERN_CONT",
	"GFP_KERNEL", "GFP_ATOMIC", "GFP_NOWAIT", "GFP_NOIO", "GFP_NOFS", "GFP_USER", "GFP_DMA",
	"PAGE_SIZE", "PAGE_SHIFT", "PAGE_MASK", "SZ_1K", "SZ_4K", "SZ_1M",
	"U8_MAX", "S8_MAX", "S8_MIN", "U16_MAX", "S16_MAX", "S16_MIN", "U32_MAX", "S32_MAX", "S32_MIN", "U64_MAX", "S64_MAX", "S64_MIN",
	"INT_MAX", "INT_MIN", "UINT_MAX", "LONG_MAX", "LONG_MIN", "ULONG_MAX", "LLONG_MAX", "LLONG_MIN", "ULLONG_MAX", "SIZE_MAX",
	"EPERM", "ENOENT", "EINTR", "EIO", "E2BIG", "EAGAIN", "ENOMEM", "EFAULT", "EBUSY", "EEXIST", "ENODEV", "EINVAL", "ENOSPC",
	"ENOTTY", "ERANGE", "EOVERFLOW", "ENOSYS", "ETIMEDOUT", "ERESTARTSYS",
	"DEFINE_MUTEX", "DEFINE_SPINLOCK", "DECLARE_WORK", "DECLARE_COMPLETION", "MINOR", "MAJOR", "MKDEV", "MISC_DYNAMIC_MINOR",
	"TASK_RUNNING", "TASK_INTERRUPTIBLE", "TASK_UNINTERRUPTIBLE", "TASK_KILLABLE", "MAX_SCHEDULE_TIMEOUT",
	"TCP_CA_NAME_MAX", "TCP_INFINITE_SSTHRESH", "NSEC_PER_SEC", "NSEC_PER_MSEC", "NSEC_PER_USEC", "USEC_PER_SEC", "MSEC_PER_SEC",
	// Types and struct tags (`struct NAME` would redefine them).
	"u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "__u8", "__u16", "__u32", "__u64", "__s8", "__s16", "__s32", "__s64",
	"int8_t", "int16_t", "int32_t", "int64_t", "uint8_t", "uint16_t", "uint32_t", "uint64_t", "size_t", "ssize_t", "ptrdiff_t",
	"uintptr_t", "loff_t", "off_t", "pid_t", "dev_t", "umode_t", "gfp_t", "ktime_t", "atomic_t", "atomic64_t", "atomic_long_t",
	"spinlock_t", "rwlock_t", "time64_t", "phys_addr_t", "dma_addr_t", "refcount_t", "wait_queue_head_t", "va_list",
	"module", "file", "inode", "dentry", "path", "page", "folio", "device", "kobject", "kref", "mutex", "spinlock", "semaphore",
	"completion", "list_head", "hlist_head", "hlist_node", "rb_node", "rb_root", "rcu_head", "work_struct", "delayed_work",
	"workqueue_struct", "timer_list", "hrtimer", "task_struct", "mm_struct", "vm_area_struct", "cred", "net", "sock", "socket",
	"sk_buff", "tcp_sock", "inet_connection_sock", "tcp_congestion_ops", "rate_sample", "ack_sample", "file_operations",
	"miscdevice", "seq_file", "kernel_param", "kernel_param_ops", "poll_table_struct", "kiocb", "iov_iter", "timespec64",
	"kthread_worker", "kthread_work", "notifier_block", "cpumask", "sched_param", "super_block", "user_namespace",
	// Functions and function-like macros the templates and generated code may call.
	"kmalloc", "kzalloc", "kcalloc", "krealloc", "kfree", "kvmalloc", "kvzalloc", "kvfree", "vmalloc", "vzalloc", "vfree",
	"memcpy", "memmove", "memset", "memcmp", "strlen", "strnlen", "strcmp", "strncmp", "strcpy", "strncpy", "strscpy", "strchr",
	"sprintf", "snprintf", "scnprintf", "sscanf", "kstrtoint", "kstrtouint", "kstrtol", "kstrtoul", "kstrtoull", "kstrtobool",
	"sort", "ktime_get", "ktime_get_ns", "ktime_to_ns", "msleep", "ssleep", "udelay", "mdelay", "ndelay", "schedule",
	"cond_resched", "might_sleep", "mutex_init", "mutex_lock", "mutex_unlock", "mutex_trylock", "spin_lock", "spin_unlock",
	"spin_lock_irqsave", "spin_unlock_irqrestore", "copy_to_user", "copy_from_user", "get_user", "put_user",
	"kernel_fpu_begin", "kernel_fpu_end", "irq_fpu_usable", "misc_register", "misc_deregister",
	"kthread", "kthread_run", "kthread_create", "kthread_stop", "kthread_should_stop", "kthread_park", "wake_up_process",
	"signal_pending", "fatal_signal_pending", "schedule_work", "queue_work", "flush_work", "cancel_work_sync",
	"init_completion", "complete", "wait_for_completion", "tcp_register_congestion_control", "tcp_unregister_congestion_control",
	"tcp_sk", "inet_csk", "inet_csk_ca", "panic", "dump_stack", "smp_processor_id", "preempt_disable", "preempt_enable",
	"local_irq_save", "local_irq_restore", "rcu_read_lock", "rcu_read_unlock",
]);

/** Headers the module project writes beside NAME.h; a prefix naming one of them would overwrite it. */
const TEMPLATE_FILE_STEMS = ["knn_bits", "knn_tensors", "knn_fpu", "knn_selftest", "knn_core", "knn_channel"];
/** Under kmod/: what a module project is made of (every template, and knn_core's headers the app template copies). */
const PROJECT_SOURCES = ["templates", "runtime/core/knn_core.h", "runtime/core/knn_channel.h"];

let templateNamesCache: Set<string> | undefined;

/** Every knn_* identifier and file stem the module templates use (read once); NAME and NAME_* must not meet them. */
export function templateNames(templateDir?: string): Set<string> {
	if (templateNamesCache && templateDir === undefined) return templateNamesCache;
	const names = new Set<string>(TEMPLATE_FILE_STEMS);
	const dir = templateDir ?? findKmodDir();
	if (dir) {
		for (const file of PROJECT_SOURCES.flatMap((source) => filesUnder(path.join(dir, source)))) {
			for (const match of fs.readFileSync(file, "utf8").matchAll(/\bknn_[A-Za-z0-9_]+/g)) names.add(match[0]);
		}
	}
	if (templateDir === undefined) templateNamesCache = names;
	return names;
}

/** The files at `file` (itself, or every file below a folder); none when it does not exist. */
function filesUnder(file: string): string[] {
	if (!fs.existsSync(file)) return [];
	if (!fs.statSync(file).isDirectory()) return [file];
	return fs.readdirSync(file, { recursive: true, encoding: "utf8" }).map((name) => path.join(file, name)).filter((name) => fs.statSync(name).isFile());
}

function findKmodDir(): string | undefined {
	for (let dir = path.resolve(__dirname); ; dir = path.dirname(dir)) {
		if (fs.existsSync(path.join(dir, "kmod", "templates", "common", "Kbuild.in"))) return path.join(dir, "kmod");
		if (path.dirname(dir) === dir) return undefined;
	}
}

/** Why a prefix cannot be used, or undefined when it can. `what` names it in the sentence ("The model prefix"). */
export function prefixProblem(prefix: string, what = "The model prefix"): string | undefined {
	const shown = JSON.stringify(terminalName(prefix));
	if (!PREFIX_PATTERN.test(prefix) || prefix.length > PREFIX_MAX_LENGTH) {
		return `${what} ${shown.length > 60 ? `${shown.slice(0, 57)}..."` : shown} is not usable for a kernel module: use a C identifier `
			+ `(ASCII letters, digits and _, not starting with a digit) of 1 to ${PREFIX_MAX_LENGTH} characters.`;
	}
	// __ is where the kernel's own attribute macros live (__init, __user, __always_inline...).
	if (prefix.startsWith("__")) return `${what} ${shown} starts with __, which C reserves for the compiler and the kernel: choose a name starting with a letter.`;
	if (C_KEYWORDS.has(prefix)) return `${what} ${shown} is a C keyword, so NAME.h and the module main would not compile: choose another name, e.g. ${prefix}_model.`;
	if (KERNEL_NAMES.has(prefix) || /^(KERN|CONFIG|GFP|MODULE)_/.test(prefix)) {
		return `${what} ${shown} is a name the kernel headers already define (a macro, type or function in scope in module code), so the module would not build or would mean something else: choose another name, e.g. my_${prefix}.`;
	}
	const templates = templateNames();
	const clash = templates.has(prefix) ? prefix : [...templates].find((name) => name.startsWith(`${prefix}_`));
	if (clash) {
		return `${what} ${shown} clashes with the module template's own ${clash === prefix ? "name" : `name ${clash} (the module defines ${prefix}_run, ${prefix}_model, ...)`}, `
			+ "so one would overwrite or redefine the other: choose another name, e.g. one not starting with knn_.";
	}
	return undefined;
}

/** Throws PrefixError unless the prefix is usable for C, Kbuild, file names and shells; returns it. */
export function validatePrefix(prefix: string, what?: string): string {
	const problem = prefixProblem(prefix, what);
	if (problem) throw new PrefixError(problem);
	return prefix;
}

/** A usable prefix from a model file name ("my-lstm.v2.meta" -> "my_lstm"): what knn deploy and the tasks use by default. */
export function prefixFromModelName(fileName: string): string {
	let prefix = fileName.replace(/\..*$/, "").replace(/[^A-Za-z0-9_]/g, "_").replace(/^(?=\d)/, "m_").replace(/^_+/, "").slice(0, PREFIX_MAX_LENGTH) || "model";
	if (prefixProblem(prefix) !== undefined) prefix = `m_${prefix}`.slice(0, PREFIX_MAX_LENGTH);
	return prefixProblem(prefix) === undefined ? prefix : "model";
}
