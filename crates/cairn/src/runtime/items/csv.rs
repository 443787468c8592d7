//! CSV rows → ItemReader items, incrementally: `InputType` CSV (and the CSV files an S3
//! inventory manifest lists). Each row becomes an object keyed by the header, every value a
//! string, as AWS gives them. The header is the first row (`CSVHeaderLocation` FIRST_ROW) or
//! `CSVHeaders` (GIVEN); `CSVDelimiter` is COMMA, PIPE, SEMICOLON, SPACE or TAB.
//!
//! Parsing is `csv-core` (the push-based core of the `csv` crate: quoting, escaped quotes,
//! CRLF, a UTF-8 BOM), fed one fetched chunk at a time, so only the row being read is held.
//!
//! Must not: fetch anything, or know about buckets (errors are plain text; the reader adds
//! where).

use csv_core::{ReadRecordResult, Reader, ReaderBuilder};
use serde_json::{Map, Value};

/// Where the header comes from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Header {
    FirstRow,
    Given(Vec<String>),
}

/// The delimiter byte for AWS's `CSVDelimiter` name.
pub(crate) fn delimiter(name: &str) -> Option<u8> {
    Some(match name {
        "COMMA" => b',',
        "PIPE" => b'|',
        "SEMICOLON" => b';',
        "SPACE" => b' ',
        "TAB" => b'\t',
        _ => return None,
    })
}

/// AWS's cause for a header naming a column twice (observed).
pub(crate) const DUPLICATE_HEADERS: &str = "CSV headers cannot contain duplicates.";

/// Checks a header: no duplicates.
pub(crate) fn check_header(header: &[String]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    if header.iter().all(|h| seen.insert(h.as_str())) {
        Ok(())
    } else {
        Err(DUPLICATE_HEADERS.into())
    }
}

/// One row as an item: `{header[i]: field[i]}`.
pub(crate) fn row_item(header: &[String], fields: Vec<String>, row: u64) -> Result<Value, String> {
    if fields.len() != header.len() {
        return Err(format!(
            "CSV row {row} has {} fields but the header has {} columns",
            fields.len(),
            header.len()
        ));
    }
    let mut item = Map::with_capacity(header.len());
    for (name, value) in header.iter().zip(fields) {
        item.insert(name.clone(), Value::String(value));
    }
    Ok(Value::Object(item))
}

/// Rows of one CSV source as items.
pub(crate) struct CsvItems {
    reader: Reader,
    input: Vec<u8>,
    /// Start of the unread input.
    start: usize,
    out: Vec<u8>,
    out_len: usize,
    ends: Vec<usize>,
    ends_len: usize,
    header: Option<Vec<String>>,
    /// 1-based number of the next row (the header row counts).
    row: u64,
    done: bool,
    /// Whether the start of the input (and a UTF-8 BOM there) has been dealt with.
    started: bool,
}

impl CsvItems {
    pub(crate) fn new(delimiter: u8, header: Header) -> Self {
        CsvItems {
            reader: ReaderBuilder::new().delimiter(delimiter).build(),
            input: Vec::new(),
            start: 0,
            out: vec![0; 1024],
            out_len: 0,
            ends: vec![0; 32],
            ends_len: 0,
            header: match header {
                Header::FirstRow => None,
                Header::Given(h) => Some(h),
            },
            row: 1,
            done: false,
            started: false,
        }
    }

    pub(crate) fn push(&mut self, chunk: &[u8]) {
        if self.start > 0 {
            self.input.drain(..self.start);
            self.start = 0;
        }
        self.input.extend_from_slice(chunk);
    }

    pub(crate) fn buffered(&self) -> usize {
        self.input.len() + self.out.len()
    }

    /// The next item, `Ok(None)` when more input is needed (or, with `eof`, at the end).
    pub(crate) fn pop(&mut self, eof: bool) -> Result<Option<Value>, String> {
        loop {
            let Some(fields) = self.next_record(eof)? else {
                return Ok(None);
            };
            let row = self.row;
            self.row += 1;
            match &self.header {
                None => {
                    check_header(&fields)?;
                    self.header = Some(fields);
                }
                Some(header) => return row_item(header, fields, row).map(Some),
            }
        }
    }

    fn next_record(&mut self, eof: bool) -> Result<Option<Vec<String>>, String> {
        if self.done {
            return Ok(None);
        }
        loop {
            let input = &self.input[self.start..];
            if input.is_empty() && !eof {
                return Ok(None);
            }
            if !self.started {
                const BOM: &[u8] = b"\xEF\xBB\xBF";
                if !eof && input.len() < BOM.len() && BOM.starts_with(input) {
                    return Ok(None);
                }
                self.started = true;
                if input.starts_with(BOM) {
                    // Stripped here: csv-core would take the empty rest for the end.
                    self.start += BOM.len();
                    continue;
                }
            }
            let (result, nin, nout, nend) = self.reader.read_record(
                input,
                &mut self.out[self.out_len..],
                &mut self.ends[self.ends_len..],
            );
            self.start += nin;
            self.out_len += nout;
            self.ends_len += nend;
            match result {
                ReadRecordResult::InputEmpty => {
                    if !eof {
                        return Ok(None);
                    }
                }
                ReadRecordResult::OutputFull => {
                    let n = self.out.len() * 2;
                    self.out.resize(n, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let n = self.ends.len() * 2;
                    self.ends.resize(n, 0);
                }
                ReadRecordResult::Record => {
                    let mut fields = Vec::with_capacity(self.ends_len);
                    let mut from = 0;
                    for &end in &self.ends[..self.ends_len] {
                        let bytes = &self.out[from..end];
                        let text = std::str::from_utf8(bytes)
                            .map_err(|_| format!("CSV row {} is not valid UTF-8", self.row))?;
                        fields.push(text.to_string());
                        from = end;
                    }
                    self.out_len = 0;
                    self.ends_len = 0;
                    if self.out.len() > 64 * 1024 {
                        // A huge row grew the buffer; don't keep it for the rest.
                        self.out = vec![0; 1024];
                    }
                    return Ok(Some(fields));
                }
                ReadRecordResult::End => {
                    self.done = true;
                    return Ok(None);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn items(text: &[u8], delim: u8, header: Header, cut: usize) -> Result<Vec<Value>, String> {
        let mut p = CsvItems::new(delim, header);
        let mut out = vec![];
        for chunk in [&text[..cut], &text[cut..]] {
            p.push(chunk);
            while let Some(v) = p.pop(false)? {
                out.push(v);
            }
        }
        while let Some(v) = p.pop(true)? {
            out.push(v);
        }
        Ok(out)
    }

    #[test]
    fn first_row_header_quotes_and_crlf_split_anywhere() {
        let text =
            b"\xEF\xBB\xBFid,name,note\r\n1,Ann,\"a, \"\"b\"\"\"\r\n2,Bob,\"two\nlines\"\n\n3,,x";
        let want = vec![
            json!({"id": "1", "name": "Ann", "note": "a, \"b\""}),
            json!({"id": "2", "name": "Bob", "note": "two\nlines"}),
            json!({"id": "3", "name": "", "note": "x"}),
        ];
        for cut in 0..=text.len() {
            assert_eq!(
                items(text, b',', Header::FirstRow, cut).unwrap(),
                want,
                "cut {cut}"
            );
        }
    }

    #[test]
    fn given_header_and_each_delimiter() {
        for (name, d) in [
            ("COMMA", ','),
            ("PIPE", '|'),
            ("SEMICOLON", ';'),
            ("SPACE", ' '),
            ("TAB", '\t'),
        ] {
            let text = format!("1{d}a\n2{d}b\n");
            let header = Header::Given(vec!["n".into(), "s".into()]);
            let got = items(text.as_bytes(), delimiter(name).unwrap(), header, 3).unwrap();
            assert_eq!(
                got,
                vec![json!({"n": "1", "s": "a"}), json!({"n": "2", "s": "b"})]
            );
        }
        assert_eq!(delimiter("COLON"), None);
    }

    #[test]
    fn errors() {
        assert_eq!(
            items(b"a,b,a\n1,2,3\n", b',', Header::FirstRow, 0).unwrap_err(),
            DUPLICATE_HEADERS
        );
        let err = items(b"a,b\n1,2\n3\n", b',', Header::FirstRow, 0).unwrap_err();
        assert_eq!(err, "CSV row 3 has 1 fields but the header has 2 columns");
        let err = items(b"a\n\xff\n", b',', Header::FirstRow, 0).unwrap_err();
        assert_eq!(err, "CSV row 2 is not valid UTF-8");
        assert!(check_header(&["x".into(), "x".into()]).is_err());
    }

    #[test]
    fn header_only_or_empty_has_no_items() {
        assert!(items(b"a,b\n", b',', Header::FirstRow, 1)
            .unwrap()
            .is_empty());
        assert!(items(b"", b',', Header::FirstRow, 0).unwrap().is_empty());
    }
}
