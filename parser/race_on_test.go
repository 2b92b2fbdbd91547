//go:build race

package parser

// The race detector slows parsing down several times; time limits are not
// checked under it (memory and defects still are).
const raceEnabled = true
