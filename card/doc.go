// Package card holds the card data formats and the test cryptography that the
// virtual cards, the PIN pad, the terminal and the acquirer host must agree on
// bit for bit: PAN masking and Luhn, 3DES and key check values, ISO 9564
// format 0 PIN blocks, EMV key derivation, ARQC and ARPC, BER-TLV for ISO 8583
// field 55, and ISO 7813 magnetic stripe tracks.
//
// It is pure functions over bytes and strings, with no state, so both sides of
// every exchange call the same code. Keys here are public test keys; the
// package still never logs or formats card secrets.
package card
