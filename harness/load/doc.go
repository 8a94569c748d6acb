// Package load is possim's load generator: N virtual terminals, each on
// its own ISO 8583 connection with its own TID, sign on and then send a
// weighted mix of sales, QR payments, voids, reversals and declines,
// closed-loop or open-loop at a fixed rate. Open-loop latency is measured
// from the intended send time, so a stalled host cannot hide behind the
// requests it delayed (coordinated omission). Echo is the bare host that
// answers everything with the same codec and connection library: the
// ceiling of the stack on this machine, to compare the real host against.
package load
