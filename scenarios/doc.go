// Package scenarios is possim's Gherkin step vocabulary and runner. Each
// scenario gets its own harness.Lab, kept in the scenario's
// context.Context; steps are small, written in a merchant's and a QA
// engineer's words, and split by domain (devices.go, terminal.go, host.go,
// settlement.go). Assertions print a go-cmp diff of expected against
// actual. Run executes feature files through godog with shards, seeds and
// reports; `possim steps` prints Vocabulary.
package scenarios
