package mailtest

import "strings"

// DisplayNames are recipients' names as directories write them, for tests
// that check a name reaches the server intact: "Last, First", separators,
// quotes, brackets, non-ASCII letters, text that looks like an RFC 2047
// word, and 200 characters.
var DisplayNames = []string{
	"Doe, Jane",
	"Doe; Jane",
	`Jane "JD" Doe`,
	"Jane <boss> Doe",
	"Jörg Müller-Lüdenscheid",
	"=?utf-8?q?Not_an_encoded_word?=",
	"李小龍",
	strings.Repeat("Verylongname ", 15) + strings.Repeat("x", 5),
}
