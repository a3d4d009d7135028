// Package csv is the `csv` directory provider: it reads users, their MFA
// phones and registered methods from a UTF-8 CSV file that an identity team
// exports or keeps by hand (format in DESIGN.md), re-reading the whole file
// on every Fetch.
//
// It is not a general CSV library and does not write files; it does not
// watch the file either: the daemon's directory sync schedule calls Fetch.
// Bad rows are skipped or repaired and described in the Update's Problems,
// with line numbers and masked numbers and addresses.
package csv
