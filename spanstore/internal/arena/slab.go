// Package arena holds the pointer-free storage under the span store: slabs
// of record payload addressed by (block, offset), and an interner for the
// strings spans repeat. Nothing here knows what a span is.
package arena

// Slab is append-only storage for one kind of record payload (attributes,
// events, links, string bytes), cut into fixed-size blocks and addressed by
// (block, offset) pairs. Records hold those pairs instead of slices, so a
// record has no pointers at all: the store's record chunks, and the blocks
// themselves, are memory the garbage collector never scans, which is what
// keeps GC cost flat as the store grows to a million spans.
//
// Blocks fill in arrival order, so evicting the oldest spans frees the
// oldest blocks: Release takes back every block whose last user is gone, and
// Take fills those again before it allocates, so a full store that evicts as
// fast as it ingests allocates no new blocks at all (and the Go heap does not
// grow by garbage blocks waiting for a collection). That reuse is why nothing
// may keep pointing into a block once its spans are gone: the store copies
// what it hands out.
type Slab[T any] struct {
	blocks   [][]T
	lastSeq  []uint64 // the highest seq with data in blocks[i]
	base     uint32   // block ID of blocks[0]
	used     int      // items used in the last block
	blockLen int
	free     [][]T // released blocks of blockLen items, for Take to reuse
}

// maxFree bounds the released blocks a slab keeps: at steady state Release
// and Take alternate, so a few are enough, and a store that shrank (a Reset
// drops whole slabs) does not hold memory it no longer needs.
const maxFree = 8

// Ref addresses n items of a slab: block ID and offset. The count lives
// in the record.
type Ref struct{ block, off uint32 }

// New returns an empty slab of blocks of blockLen items.
func New[T any](blockLen int) Slab[T] { return Slab[T]{blockLen: blockLen} }

// Take reserves n items for the span seq and returns where they are and the
// slice to fill. A payload bigger than an eighth of a block gets a block of
// its own, so no block is wasted on it.
func (s *Slab[T]) Take(n int, seq uint64) (Ref, []T) {
	if n == 0 {
		return Ref{}, nil
	}
	last := len(s.blocks) - 1
	if n > s.blockLen/8 || last < 0 || s.used+n > len(s.blocks[last]) {
		size := s.blockLen
		if n > s.blockLen/8 {
			size = n
		}
		s.blocks = append(s.blocks, s.newBlock(size))
		s.lastSeq = append(s.lastSeq, seq)
		s.used = 0
		last++
	}
	off := s.used
	s.used += n
	s.lastSeq[last] = seq
	return Ref{block: s.base + uint32(last), off: uint32(off)}, s.blocks[last][off : off+n : off+n]
}

// newBlock returns a block of size items: a released one when there is one
// of that size. Its old contents stay: Take's callers fill what they take.
func (s *Slab[T]) newBlock(size int) []T {
	if size == s.blockLen {
		if n := len(s.free); n > 0 {
			b := s.free[n-1]
			s.free[n-1] = nil
			s.free = s.free[:n-1]
			return b
		}
	}
	return make([]T, size)
}

// Get returns the n items at ref.
func (s *Slab[T]) Get(ref Ref, n uint32) []T {
	if n == 0 {
		return nil
	}
	b := s.blocks[ref.block-s.base]
	return b[ref.off : ref.off+n : ref.off+n]
}

// Release takes back the blocks used only by spans up to seq, for Take to
// reuse. The block being filled is kept.
func (s *Slab[T]) Release(seq uint64) {
	drop := 0
	for drop < len(s.blocks)-1 && s.lastSeq[drop] <= seq {
		if b := s.blocks[drop]; len(b) == s.blockLen && len(s.free) < maxFree {
			s.free = append(s.free, b)
		}
		s.blocks[drop] = nil
		drop++
	}
	if drop > 0 {
		s.blocks = s.blocks[drop:]
		s.lastSeq = s.lastSeq[drop:]
		s.base += uint32(drop)
	}
}

// Interner maps repeated strings (attribute keys, span and event names) to
// small IDs. It only grows: its size is bounded by the vocabulary of the
// instrumented code, not by traffic.
type Interner struct {
	ids  map[string]uint32
	list []string
}

// NewInterner returns an interner whose ID 0 is the empty string.
func NewInterner() *Interner {
	in := &Interner{ids: make(map[string]uint32)}
	in.ID("")
	return in
}

// ID returns the ID of s, adding it if new.
func (in *Interner) ID(s string) uint32 {
	if id, ok := in.ids[s]; ok {
		return id
	}
	s = string([]byte(s)) // own the bytes: s may alias a request buffer
	id := uint32(len(in.list))
	in.list = append(in.list, s)
	in.ids[s] = id
	return id
}

// Lookup returns the ID of s without adding it.
func (in *Interner) Lookup(s string) (uint32, bool) {
	id, ok := in.ids[s]
	return id, ok
}

// Get returns the string of id.
func (in *Interner) Get(id uint32) string { return in.list[id] }
