package assert

import "strings"

// closest returns the candidate nearest to asked when it is near enough to
// be a likely typo: the same up to case and the separators '.', '_' and '-',
// or within a small edit distance (1 for short words, up to 3 for long
// ones). It returns "" when none is, or when asked itself is a candidate.
func closest(asked string, candidates []string) string {
	norm := func(s string) string {
		return strings.Map(func(r rune) rune {
			switch r {
			case '.', '_', '-':
				return '.'
			}
			return r
		}, strings.ToLower(s))
	}
	a := norm(asked)
	best, bestD := "", -1
	for _, c := range candidates {
		if c == asked {
			return ""
		}
		d := editDistance(a, norm(c))
		limit := min(3, max(1, len([]rune(asked))/5))
		if d <= limit && (bestD < 0 || d < bestD) {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// DidYouMean returns a hint naming the candidate closest to asked, as a
// report line ("did you mean event_name \"order.shipped\"?"), or "" when
// none is near enough to be a typo. what names the thing ("correlation",
// "span name").
func DidYouMean(what, asked string, candidates []string) string {
	if m := closest(asked, candidates); m != "" {
		return "did you mean " + what + " " + quote(m) + "?"
	}
	return ""
}
