package arena

import "testing"

func TestReleasedBlocksAreReused(t *testing.T) {
	s := New[byte](256)
	// Spans 1..24 take 32 bytes each: eight fill a block, three blocks.
	var first []byte
	for seq := uint64(1); seq <= 24; seq++ {
		_, b := s.Take(32, seq)
		if seq == 1 {
			first = b
		}
	}
	if got := len(s.blocks); got != 3 {
		t.Fatalf("%d blocks after 24 spans of 32 bytes in 256-byte blocks, want 3", got)
	}
	s.Release(8) // spans 1..8 gone: the first block is free
	if len(s.blocks) != 2 || len(s.free) != 1 {
		t.Fatalf("after releasing the first block: %d blocks in use and %d free, want 2 and 1", len(s.blocks), len(s.free))
	}
	// Span 25 needs a new block: it must be the released one.
	_, b := s.Take(32, 25)
	if &b[0] != &first[0] {
		t.Fatalf("Take allocated a new block while a released one was free")
	}
	if len(s.free) != 0 {
		t.Fatalf("%d free blocks after reusing one, want 0", len(s.free))
	}
}

func TestOversizedBlocksAreNotKept(t *testing.T) {
	s := New[byte](256)
	_, _ = s.Take(100, 1) // over an eighth of a block: a block of its own
	_, _ = s.Take(32, 2)
	s.Release(1)
	if len(s.blocks) != 1 || len(s.free) != 0 {
		t.Fatalf("after releasing an oversized block: %d blocks in use and %d free, want 1 and 0", len(s.blocks), len(s.free))
	}
}

func TestFreeBlocksAreBounded(t *testing.T) {
	s := New[byte](16)
	for seq := uint64(1); seq <= 100; seq++ {
		_, _ = s.Take(2, seq)
		_, _ = s.Take(2, seq)
		_, _ = s.Take(2, seq)
		_, _ = s.Take(2, seq) // eight bytes a span, two spans a block
	}
	s.Release(100)
	if len(s.free) != maxFree {
		t.Fatalf("%d free blocks kept after releasing 49, want the cap %d", len(s.free), maxFree)
	}
	if len(s.blocks) != 1 {
		t.Fatalf("%d blocks left, want the one being filled", len(s.blocks))
	}
}
