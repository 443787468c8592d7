//! Pages of store listings: a request's `maxResults`/`nextToken` to a store cursor and a
//! limit, and the fetched rows back to one page plus the next token. Handlers fetch
//! `limit + 1` rows so that a last page never carries a token.

use cairn_api::{page_token, ApiError};
use cairn_store::Cursor;

/// One listing's paging request, ready for the store.
pub struct PageRequest {
    /// Rows of this page.
    pub limit: usize,
    /// Where the previous page ended.
    pub after: Option<Cursor>,
    scope: String,
}

impl PageRequest {
    /// `scope` names the listing (a token of another listing is `InvalidToken`).
    pub fn new(
        scope: impl Into<String>,
        max_results: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<PageRequest, ApiError> {
        let scope = scope.into();
        let after = match next_token {
            Some(token) => Some(page_token::decode(&scope, token)?),
            None => None,
        };
        Ok(PageRequest {
            limit: page_size(max_results),
            after,
            scope,
        })
    }

    /// How many rows to ask the store for.
    pub fn fetch(&self) -> usize {
        self.limit + 1
    }

    /// Cut the fetched rows to one page; the token of the next page if there is one.
    pub fn finish<T>(&self, rows: &mut Vec<T>, seq: impl Fn(&T) -> i64) -> Option<String> {
        if rows.len() <= self.limit {
            return None;
        }
        rows.truncate(self.limit);
        rows.last()
            .map(|last| page_token::encode(&self.scope, &Cursor { seq: seq(last) }))
    }
}

/// `maxResults`: absent or 0 means the default page size, 100.
pub fn page_size(max_results: Option<i64>) -> usize {
    match max_results {
        None | Some(0) => 100,
        Some(n) => n.clamp(1, 1000) as usize,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_defaults() {
        assert_eq!(page_size(None), 100);
        assert_eq!(page_size(Some(0)), 100);
        assert_eq!(page_size(Some(7)), 7);
    }

    #[test]
    fn pages_cut_and_token_roundtrips() {
        let req = PageRequest::new("L", Some(2), None).unwrap();
        let mut rows = vec![1i64, 2, 3];
        let token = req.finish(&mut rows, |r| *r).unwrap();
        assert_eq!(rows, vec![1, 2]);
        let next = PageRequest::new("L", Some(2), Some(&token)).unwrap();
        assert_eq!(next.after, Some(Cursor { seq: 2 }));
        assert!(PageRequest::new("M", Some(2), Some(&token)).is_err());
        let mut last = vec![3i64];
        assert!(next.finish(&mut last, |r| *r).is_none());
    }
}
