//! Word pieces with exact byte spans, windows of at most the encoder's
//! length, and BIO labels aligned to the pieces.

use std::ops::Range;
use std::path::Path;

use rust_tokenizers::tokenizer::{BertTokenizer, Tokenizer};
use rust_tokenizers::vocab::Vocab;

use crate::error::{Error, Result};
use crate::preprocess::{CharOffsets, Span};

/// Label index of "outside any mention".
pub const OUTSIDE: u8 = 0;
/// Label of positions that carry no training signal (`[CLS]`, `[SEP]`, padding).
pub const IGNORED: u8 = u8::MAX;

/// The `B-` label of mention kind number `k` of a task (`I-` is one more).
pub fn begin_label(k: usize) -> u8 {
    (1 + 2 * k) as u8
}

/// One word piece of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Vocabulary id.
    pub id: i64,
    /// The bytes of the text it came from.
    pub span: Span,
    /// Whether it starts a word (not a `##` continuation).
    pub word_start: bool,
}

/// BERT's uncased word-piece tokenizer (lower-casing, accent stripping,
/// punctuation splitting, greedy longest-match word pieces) with the byte
/// span of every piece in the original text.
pub struct WordPieces {
    tokenizer: BertTokenizer,
    cls: i64,
    sep: i64,
}

impl std::fmt::Debug for WordPieces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WordPieces").finish_non_exhaustive()
    }
}

impl WordPieces {
    /// Reads a BERT `vocab.txt` (uncased: lower-casing and accent stripping,
    /// as all-MiniLM-L6-v2's `tokenizer_config.json` asks).
    pub fn from_vocab(path: &Path) -> Result<Self> {
        let tokenizer = BertTokenizer::from_file(path, true, true).map_err(|e| Error::Model {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let id = |t: &str| tokenizer.vocab().token_to_id(t);
        let (cls, sep) = (id("[CLS]"), id("[SEP]"));
        if cls == sep {
            return Err(Error::Model {
                path: path.to_path_buf(),
                reason: "the vocabulary has no [CLS] and [SEP] tokens".into(),
            });
        }
        Ok(Self {
            tokenizer,
            cls,
            sep,
        })
    }

    /// The id of `[CLS]`, which starts every window.
    pub fn cls(&self) -> i64 {
        self.cls
    }

    /// The id of `[SEP]`, which ends every window.
    pub fn sep(&self) -> i64 {
        self.sep
    }

    /// The word pieces of `text`, in order.
    pub fn encode(&self, text: &str) -> Vec<Piece> {
        let tokens = self.tokenizer.tokenize_with_offsets(text);
        let ids = self.tokenizer.convert_tokens_to_ids(&tokens.tokens);
        let chars = CharOffsets::new(text);
        let mut pieces = Vec::with_capacity(ids.len());
        for (i, id) in ids.into_iter().enumerate() {
            let Some(offset) = tokens.offsets[i] else {
                continue;
            };
            let (Some(start), Some(end)) = (
                chars.byte_of(offset.begin as usize),
                chars.byte_of(offset.end as usize),
            ) else {
                continue;
            };
            let word_start = !tokens.tokens[i].starts_with("##");
            pieces.push(Piece {
                id,
                span: Span::new(start, end),
                word_start,
            });
        }
        pieces
    }
}

/// Splits `n` pieces into consecutive windows of at most `max` pieces, each
/// cut before a word start where one lies in the window (so no word is split
/// across windows unless it alone is longer than `max`).
pub fn windows(pieces: &[Piece], max: usize) -> Vec<Range<usize>> {
    let max = max.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    while start < pieces.len() {
        let mut end = (start + max).min(pieces.len());
        if end < pieces.len() {
            if let Some(cut) = (start + 1..=end).rev().find(|&j| pieces[j].word_start) {
                end = cut;
            }
        }
        out.push(start..end);
        start = end;
    }
    out
}

/// How well gold mentions fit word-piece boundaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Alignment {
    /// Mentions whose bounds are piece bounds (a tagger can get them exactly).
    pub exact: usize,
    /// Mentions with a bound inside a piece: labelled on every piece they
    /// touch, but unreachable for a strict match.
    pub inexact: usize,
    /// Mentions overlapping an earlier (longer or earlier) one, left out.
    pub overlapping: usize,
}

impl Alignment {
    /// Adds another count.
    pub fn add(&mut self, other: Alignment) {
        self.exact += other.exact;
        self.inexact += other.inexact;
        self.overlapping += other.overlapping;
    }
}

/// BIO labels of `pieces` for gold mentions `(span, kind number)`. Mentions
/// are taken longest first among those starting at the same byte, earlier
/// first otherwise; one that overlaps a labelled piece is left out.
pub fn bio_labels(pieces: &[Piece], gold: &[(Span, usize)]) -> (Vec<u8>, Alignment) {
    let mut labels = vec![OUTSIDE; pieces.len()];
    let mut order: Vec<&(Span, usize)> = gold.iter().collect();
    order.sort_by_key(|(s, _)| (s.start, std::cmp::Reverse(s.end)));
    let mut stats = Alignment::default();
    for &(span, kind) in order {
        let touched: Vec<usize> = (0..pieces.len())
            .filter(|&i| pieces[i].span.start < span.end && pieces[i].span.end > span.start)
            .collect();
        let (Some(&first), Some(&last)) = (touched.first(), touched.last()) else {
            stats.inexact += 1;
            continue;
        };
        if touched.iter().any(|&i| labels[i] != OUTSIDE) {
            stats.overlapping += 1;
            continue;
        }
        if pieces[first].span.start == span.start && pieces[last].span.end == span.end {
            stats.exact += 1;
        } else {
            stats.inexact += 1;
        }
        let b = begin_label(kind);
        labels[first] = b;
        for &i in &touched[1..] {
            labels[i] = b + 1;
        }
    }
    (labels, stats)
}

/// Mentions `(span, kind number)` read off per-piece labels, word by word: a
/// word takes the label of its first piece (its `##` continuations follow it,
/// so no mention starts or ends inside a word), then a run starts at a `B-`
/// label or at an `I-` label that does not continue the same kind, and
/// extends over the `I-` labels of its kind.
pub fn decode_bio(pieces: &[Piece], labels: &[u8]) -> Vec<(Span, usize)> {
    let mut word_label = OUTSIDE;
    let labels: Vec<u8> = labels
        .iter()
        .zip(pieces)
        .map(|(&label, piece)| {
            if piece.word_start {
                word_label = label;
                label
            } else if word_label == OUTSIDE || word_label == IGNORED {
                word_label
            } else {
                // The word's kind, continued.
                word_label + word_label % 2
            }
        })
        .collect();
    let mut out: Vec<(Span, usize)> = Vec::new();
    let mut open: Option<(usize, usize, usize)> = None; // (first, last, kind)
    let close = |open: Option<(usize, usize, usize)>, out: &mut Vec<(Span, usize)>| {
        if let Some((first, last, kind)) = open {
            out.push((
                Span::new(pieces[first].span.start, pieces[last].span.end),
                kind,
            ));
        }
    };
    for (i, &label) in labels.iter().enumerate().take(pieces.len()) {
        if label == OUTSIDE || label == IGNORED {
            close(open.take(), &mut out);
            continue;
        }
        let kind = usize::from((label - 1) / 2);
        let begins = (label - 1) % 2 == 0;
        match open {
            Some((first, _, k)) if k == kind && !begins => open = Some((first, i, k)),
            _ => {
                close(open.take(), &mut out);
                open = Some((i, i, kind));
            }
        }
    }
    close(open, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(start: usize, end: usize, word_start: bool) -> Piece {
        Piece {
            id: 1,
            span: Span::new(start, end),
            word_start,
        }
    }

    #[test]
    fn labels_round_trip_through_decoding() {
        // "BRCA1 loss in breast cancer": BRCA / ##1 / loss / in / breast / cancer
        let pieces = [
            piece(0, 4, true),
            piece(4, 5, false),
            piece(6, 10, true),
            piece(11, 13, true),
            piece(14, 20, true),
            piece(21, 27, true),
        ];
        let gold = [(Span::new(0, 5), 0), (Span::new(14, 27), 1)];
        let (labels, stats) = bio_labels(&pieces, &gold);
        assert_eq!(labels, vec![1, 2, 0, 0, 3, 4]);
        assert_eq!(stats.exact, 2);
        let mut decoded = decode_bio(&pieces, &labels);
        decoded.sort_by_key(|(s, _)| s.start);
        assert_eq!(decoded, gold.to_vec());
        // A bound inside a piece is labelled but counted as inexact.
        let (labels, stats) = bio_labels(&pieces, &[(Span::new(0, 4), 0)]);
        assert_eq!(labels[..2], [1, 0]);
        assert_eq!(stats.exact, 1);
        // A word follows its first piece: "BRCA" tagged, "##1" not, gives BRCA1.
        assert_eq!(
            decode_bio(&pieces, &[1, 0, 0, 0, 0, 0]),
            vec![(Span::new(0, 5), 0)]
        );
        assert!(decode_bio(&pieces, &[0, 1, 0, 0, 0, 0]).is_empty());
        let (_, stats) = bio_labels(&pieces, &[(Span::new(0, 3), 0), (Span::new(2, 5), 0)]);
        assert_eq!((stats.inexact, stats.overlapping), (1, 1));
    }

    #[test]
    fn decoding_splits_adjacent_mentions_and_kinds() {
        let pieces: Vec<Piece> = (0..5).map(|i| piece(2 * i, 2 * i + 1, true)).collect();
        // B-0 I-0 B-0 I-1 O: two kind-0 mentions, then a kind-1 one from a bare I.
        let decoded = decode_bio(&pieces, &[1, 2, 1, 4, 0]);
        assert_eq!(
            decoded,
            vec![
                (Span::new(0, 3), 0),
                (Span::new(4, 5), 0),
                (Span::new(6, 7), 1)
            ]
        );
    }

    #[test]
    fn windows_cut_at_word_starts() {
        let starts = [true, false, false, true, true, false, true];
        let pieces: Vec<Piece> = starts
            .iter()
            .enumerate()
            .map(|(i, &w)| piece(i, i + 1, w))
            .collect();
        assert_eq!(windows(&pieces, 4), vec![0..4, 4..7]);
        // The first word is longer than 2 pieces: it alone is split.
        assert_eq!(windows(&pieces, 2), vec![0..2, 2..4, 4..6, 6..7]);
        assert_eq!(windows(&pieces, 100), vec![0..7]);
        assert!(windows(&[], 4).is_empty());
    }
}
