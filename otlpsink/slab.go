package otlpsink

// slab is append-only storage for one kind of record payload (attributes,
// events, links, string bytes), cut into fixed-size blocks and addressed by
// (block, offset) pairs. Records hold those pairs instead of slices, so a
// record has no pointers at all: the store's record chunks, and the blocks
// themselves, are memory the garbage collector never scans, which is what
// keeps GC cost flat as the store grows to a million spans.
//
// Blocks fill in arrival order, so evicting the oldest spans frees the
// oldest blocks: release drops every block whose last user is gone. A
// materialized Span may alias a block's bytes (its strings); the block then
// lives on until that Span is garbage, as any Go memory would.
type slab[T any] struct {
	blocks   [][]T
	lastSeq  []uint64 // the highest seq with data in blocks[i]
	base     uint32   // block ID of blocks[0]
	used     int      // items used in the last block
	blockLen int
}

// slabRef addresses n items of a slab: block ID and offset. The count lives
// in the record.
type slabRef struct{ block, off uint32 }

func newSlab[T any](blockLen int) slab[T] { return slab[T]{blockLen: blockLen} }

// take reserves n items for the span seq and returns where they are and the
// slice to fill. A payload bigger than an eighth of a block gets a block of
// its own, so no block is wasted on it.
func (s *slab[T]) take(n int, seq uint64) (slabRef, []T) {
	if n == 0 {
		return slabRef{}, nil
	}
	last := len(s.blocks) - 1
	if n > s.blockLen/8 || last < 0 || s.used+n > len(s.blocks[last]) {
		size := s.blockLen
		if n > s.blockLen/8 {
			size = n
		}
		s.blocks = append(s.blocks, make([]T, size))
		s.lastSeq = append(s.lastSeq, seq)
		s.used = 0
		last++
	}
	off := s.used
	s.used += n
	s.lastSeq[last] = seq
	return slabRef{block: s.base + uint32(last), off: uint32(off)}, s.blocks[last][off : off+n : off+n]
}

// get returns the n items at ref.
func (s *slab[T]) get(ref slabRef, n uint32) []T {
	if n == 0 {
		return nil
	}
	b := s.blocks[ref.block-s.base]
	return b[ref.off : ref.off+n : ref.off+n]
}

// release frees the blocks used only by spans up to seq. The block being
// filled is kept.
func (s *slab[T]) release(seq uint64) {
	drop := 0
	for drop < len(s.blocks)-1 && s.lastSeq[drop] <= seq {
		s.blocks[drop] = nil
		drop++
	}
	if drop > 0 {
		s.blocks = s.blocks[drop:]
		s.lastSeq = s.lastSeq[drop:]
		s.base += uint32(drop)
	}
}
