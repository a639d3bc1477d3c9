import { describeDatapath } from "../support/datapathSuite";

// Debian 12's own kernel: SLUB debugging and page poisoning (its config has no KFENCE or debug_pagealloc).
describeDatapath("6.1.");
