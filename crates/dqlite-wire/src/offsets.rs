//! A list of byte offsets into a frame's body whose first few entries are kept inline:
//! the offsets of a small result (a point query's few columns and one row) need no heap
//! allocation, which would cost more than decoding the frame itself.

/// Entries kept inline: the names and rows of a result of up to 4 columns and one row,
/// or of 1 column and 5 rows.
const INLINE: usize = 6;

/// Offsets, in the order pushed. Kept small: a frame is moved several times on its way
/// to the caller, and every byte of it is copied each time.
#[derive(Clone)]
pub(crate) enum Offsets {
    /// Up to [`INLINE`] entries, each below 4 GiB; those from `len` on are unused.
    Inline { len: u8, items: [u32; INLINE] },
    /// More entries, or one of 4 GiB or more.
    Heap(Vec<usize>),
}

impl Offsets {
    /// An empty list (no allocation).
    #[inline]
    pub(crate) fn new() -> Offsets {
        Offsets::Inline {
            len: 0,
            items: [0; INLINE],
        }
    }

    /// Appends `offset`; past [`INLINE`] entries, or at one of 4 GiB or more, the list
    /// moves to the heap.
    #[inline]
    pub(crate) fn push(&mut self, offset: usize) {
        match self {
            Offsets::Heap(vec) => vec.push(offset),
            Offsets::Inline { len, items } => {
                if let Some(slot) = items.get_mut(usize::from(*len))
                    && let Ok(small) = u32::try_from(offset)
                {
                    *slot = small;
                    *len += 1;
                } else {
                    self.move_to_heap(offset);
                }
            }
        }
    }

    /// Moves the entries to the heap, then appends `offset`.
    #[cold]
    fn move_to_heap(&mut self, offset: usize) {
        let mut vec = Vec::with_capacity(INLINE * 4);
        vec.extend(self.iter());
        vec.push(offset);
        *self = Offsets::Heap(vec);
    }

    /// Entries `index` and `index + 1`.
    #[inline]
    pub(crate) fn pair(&self, index: usize) -> Option<(usize, usize)> {
        match self {
            Offsets::Inline { len, items } => {
                let [a, b] = *items
                    .get(..usize::from(*len))?
                    .get(index..)?
                    .first_chunk::<2>()?;
                Some((a as usize, b as usize))
            }
            Offsets::Heap(vec) => {
                let [a, b] = *vec.get(index..)?.first_chunk::<2>()?;
                Some((a, b))
            }
        }
    }

    /// Number of entries.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        match self {
            Offsets::Inline { len, .. } => usize::from(*len),
            Offsets::Heap(vec) => vec.len(),
        }
    }

    /// Entry `index`.
    #[inline]
    pub(crate) fn get(&self, index: usize) -> Option<usize> {
        match self {
            Offsets::Inline { len, items } => {
                if index >= usize::from(*len) {
                    return None;
                }
                items.get(index).map(|&offset| offset as usize)
            }
            Offsets::Heap(vec) => vec.get(index).copied(),
        }
    }

    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len()).filter_map(|index| self.get(index))
    }
}

impl PartialEq for Offsets {
    fn eq(&self, other: &Offsets) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Offsets {}

impl std::fmt::Debug for Offsets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(offsets: &Offsets) -> Vec<usize> {
        offsets.iter().collect()
    }

    #[test]
    fn entries_stay_in_order_across_the_move_to_the_heap() {
        let mut offsets = Offsets::new();
        assert_eq!(offsets.len(), 0);
        assert_eq!(offsets.get(0), None);
        for n in 0..INLINE * 5 {
            offsets.push(n * 8);
            assert_eq!(
                entries(&offsets),
                (0..=n).map(|i| i * 8).collect::<Vec<_>>()
            );
            assert_eq!(offsets.get(n + 1), None);
            assert_eq!(offsets.pair(n), None);
            if n > 0 {
                assert_eq!(offsets.pair(n - 1), Some(((n - 1) * 8, n * 8)));
            }
            assert_eq!(matches!(offsets, Offsets::Heap(_)), n >= INLINE);
        }
        let mut inline = Offsets::new();
        inline.push(8);
        assert_eq!(inline, inline.clone());
        assert_ne!(inline, offsets);
        assert_eq!(format!("{inline:?}"), "[8]");
    }

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn an_offset_of_4_gib_or_more_moves_the_list_to_the_heap() {
        let mut offsets = Offsets::new();
        offsets.push(8);
        offsets.push(1 << 32);
        assert!(matches!(offsets, Offsets::Heap(_)));
        assert_eq!(entries(&offsets), [8, 1 << 32]);
        // Equal entries compare equal wherever they are kept.
        let mut inline = Offsets::new();
        inline.push(8);
        let mut heap = Offsets::Heap(Vec::new());
        heap.push(8);
        assert_eq!(inline, heap);
    }
}
