//! Arrays that grow without moving: the audit's per-entry arrays and its map of ids grow
//! to a million entries and more, and a `Vec` or a `HashMap` that doubles needs the old
//! and the new buffer at once, then leaves the old one in the heap, where the allocator
//! keeps it resident. Growing in pages of fixed size keeps resident memory at what is
//! held.

use std::ops::{Index, IndexMut};

/// Items per page: a page of `u64`s is half a megabyte.
const PAGE: usize = 1 << 16;

/// A growable array kept in pages of [`PAGE`] items.
#[derive(Debug)]
pub(crate) struct Paged<T> {
    pages: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Paged<T> {
    fn default() -> Self {
        Self {
            pages: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Paged<T> {
    /// Appends an item.
    pub(crate) fn push(&mut self, v: T) {
        // Every page full (or none yet): a new one.
        if self.len == self.pages.len() * PAGE {
            self.pages.push(Vec::with_capacity(PAGE));
        }
        if let Some(page) = self.pages.last_mut() {
            page.push(v);
            self.len += 1;
        }
    }

    /// Items held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The item at `i`, if held.
    pub(crate) fn get(&self, i: usize) -> Option<&T> {
        self.pages.get(i / PAGE)?.get(i % PAGE)
    }

    /// Every item, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.pages.iter().flatten()
    }

    /// Every item, in order, to change.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.pages.iter_mut().flatten()
    }
}

impl<T> Index<usize> for Paged<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        &self.pages[i / PAGE][i % PAGE]
    }
}

impl<T> IndexMut<usize> for Paged<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.pages[i / PAGE][i % PAGE]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_hold_items_in_order() {
        let mut p = Paged::default();
        for i in 0..(2 * PAGE + 3) as u64 {
            p.push(i);
        }
        assert_eq!(p.len(), 2 * PAGE + 3);
        assert_eq!(p.get(PAGE), Some(&(PAGE as u64)));
        assert_eq!(p.get(2 * PAGE + 3), None);
        p[5] = 50;
        assert_eq!(p[5], 50);
        assert_eq!(p.iter().count(), p.len());
        p.iter_mut().for_each(|x| *x = 1);
        assert_eq!(p.iter().sum::<u64>(), p.len() as u64);
    }
}
