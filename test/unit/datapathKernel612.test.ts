import { describeDatapath } from "../support/datapathSuite";

// Debian 12's 6.12 (bookworm-backports / -security), where tcp_congestion_ops.cong_control takes ack and flag:
// SLUB debugging, page poisoning and KFENCE.
describeDatapath("6.12.");
