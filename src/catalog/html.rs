//! The small HTML subset `textarea` values may hold, and its plain-text form.
//!
//! [`sanitize`] keeps only `p br ul ol li strong em b i a` (on `a` only an
//! absolute `href` with http, https or mailto, plus `rel="noopener
//! noreferrer"`); everything else is stripped, and the contents of `script`
//! and `style` are dropped entirely. [`to_text`] renders HTML as plain text
//! for channels that take no markup (Google Merchant descriptions, TSV).

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use ammonia::{Builder, UrlRelative};
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

/// Tags a textarea value may keep.
pub const ALLOWED_TAGS: [&str; 10] = ["p", "br", "ul", "ol", "li", "strong", "em", "b", "i", "a"];

/// URL schemes a link may use.
pub const ALLOWED_URL_SCHEMES: [&str; 3] = ["http", "https", "mailto"];

fn cleaner() -> &'static Builder<'static> {
    static CLEANER: OnceLock<Builder<'static>> = OnceLock::new();
    CLEANER.get_or_init(|| {
        let mut builder = Builder::new();
        builder
            .tags(ALLOWED_TAGS.into_iter().collect())
            .clean_content_tags(HashSet::from(["script", "style"]))
            .generic_attributes(HashSet::new())
            .tag_attributes(HashMap::from([("a", HashSet::from(["href"]))]))
            .url_schemes(ALLOWED_URL_SCHEMES.into_iter().collect())
            // A relative link means nothing in a channel feed.
            .url_relative(UrlRelative::Deny)
            .link_rel(Some("noopener noreferrer"))
            .strip_comments(true);
        builder
    })
}

/// Cleans `html` down to the allowed subset. Disallowed tags are removed but
/// their text is kept (`<span>x</span>` → `x`), except inside `script` and
/// `style`, whose contents go too. The output is well-formed HTML with its
/// text escaped (`&amp;`, `&lt;`, `&gt;`, `&nbsp;`).
pub fn sanitize(html: &str) -> String {
    cleaner().clean(html).to_string()
}

/// Elements whose contents are never text.
const SKIPPED_CONTENT: [&str; 6] = ["script", "style", "head", "title", "template", "noscript"];

/// Elements that start and end a paragraph (a blank line around them).
const PARAGRAPHS: [&str; 10] = [
    "p",
    "blockquote",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "pre",
    "table",
];

/// Elements that start and end a line.
const LINES: [&str; 11] = [
    "div", "ul", "ol", "tr", "section", "article", "header", "footer", "dl", "dt", "dd",
];

/// Renders HTML as plain text: paragraphs are separated by a blank line,
/// `br` and the end of a list item become line breaks, list items start with
/// `- ` (indented two spaces per nesting level), other tags are removed,
/// character references are decoded as a browser decodes them (html5ever's
/// tokenizer: `&amp;`, `&eacute;`, `&#233;`, `&#xE9;`; `&nbsp;` becomes
/// U+00A0), whitespace inside text collapses to one space as a browser shows
/// it, runs of blank lines collapse to one, and the result is trimmed.
///
/// A value without any tag is taken as plain text: its line breaks are kept.
/// Contents of `script`, `style` and the like are dropped.
pub fn to_text(html: &str) -> String {
    let markup = has_markup(html);
    if !markup && !html.contains('&') {
        // Nothing to tokenize: the common case for short values.
        let mut out = TextWriter::new(false);
        out.text(html);
        return out.finish();
    }
    let sink = TextSink {
        writer: RefCell::new(TextWriter::new(markup)),
        skipping: Cell::new(false),
    };
    let tokenizer = Tokenizer::new(
        sink,
        TokenizerOpts {
            // A byte-order mark inside a value is text like any other.
            discard_bom: false,
            ..TokenizerOpts::default()
        },
    );
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    // The sink never asks to pause for a script, so one feed reads it all.
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.writer.into_inner().finish()
}

/// True when `html` holds at least one tag, comment or declaration.
fn has_markup(html: &str) -> bool {
    html.as_bytes().windows(2).any(|pair| {
        pair[0] == b'<' && (pair[1].is_ascii_alphabetic() || matches!(pair[1], b'/' | b'!' | b'?'))
    })
}

/// Receives html5ever's tokens (tags, decoded text; comments and doctypes
/// are dropped) and writes them as text.
struct TextSink {
    writer: RefCell<TextWriter>,
    /// Inside an element of [`SKIPPED_CONTENT`], until its end tag.
    skipping: Cell<bool>,
}

impl TokenSink for TextSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            // In raw text only the element's own end tag comes as a tag.
            Token::TagToken(tag) if self.skipping.get() => {
                self.skipping.set(tag.kind != TagKind::EndTag);
            }
            Token::TagToken(tag) => {
                let name: &str = &tag.name;
                if tag.kind == TagKind::StartTag && SKIPPED_CONTENT.contains(&name) {
                    // Read the contents as raw text up to the end tag, so
                    // markup inside (`"<p>"` in a script) is no tag.
                    self.skipping.set(true);
                    let kind = if name == "script" {
                        RawKind::ScriptData
                    } else {
                        RawKind::Rawtext
                    };
                    return TokenSinkResult::RawData(kind);
                }
                self.writer
                    .borrow_mut()
                    .tag(name, tag.kind == TagKind::EndTag);
            }
            Token::CharacterTokens(text) if !self.skipping.get() => {
                self.writer.borrow_mut().text(&text);
            }
            Token::NullCharacterToken if !self.skipping.get() => {
                self.writer.borrow_mut().text("\0");
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// Builds the plain text, tracking list nesting and pending line breaks.
struct TextWriter {
    out: String,
    markup: bool,
    list_depth: usize,
}

impl TextWriter {
    fn new(markup: bool) -> Self {
        Self {
            out: String::new(),
            markup,
            list_depth: 0,
        }
    }

    fn at_line_start(&self) -> bool {
        self.out.is_empty() || self.out.ends_with('\n')
    }

    fn text(&mut self, raw: &str) {
        if raw.is_empty() {
            return;
        }
        if !self.markup {
            self.out.push_str(raw);
            return;
        }
        // Whitespace collapses to one space, and none at a line start.
        let mut pending_space = false;
        for c in raw.chars() {
            if c.is_ascii_whitespace() {
                pending_space = true;
                continue;
            }
            if pending_space && !self.at_line_start() && !self.out.ends_with(' ') {
                self.out.push(' ');
            }
            pending_space = false;
            self.out.push(c);
        }
        if pending_space && !self.at_line_start() && !self.out.ends_with(' ') {
            self.out.push(' ');
        }
    }

    fn line_break(&mut self) {
        while self.out.ends_with(' ') {
            self.out.pop();
        }
        self.out.push('\n');
    }

    fn end_line(&mut self) {
        if !self.at_line_start() {
            self.line_break();
        }
    }

    fn paragraph(&mut self) {
        self.end_line();
        if !self.out.is_empty() {
            self.out.push('\n');
        }
    }

    fn tag(&mut self, name: &str, closing: bool) {
        match name {
            "br" => self.line_break(),
            "hr" => self.paragraph(),
            "li" if closing => self.end_line(),
            "li" => {
                self.end_line();
                let indent = self.list_depth.saturating_sub(1);
                self.out.push_str(&"  ".repeat(indent));
                self.out.push_str("- ");
            }
            "ul" | "ol" => {
                if closing {
                    self.list_depth = self.list_depth.saturating_sub(1);
                } else {
                    self.list_depth += 1;
                }
                self.end_line();
            }
            _ if PARAGRAPHS.contains(&name) => self.paragraph(),
            _ if LINES.contains(&name) => self.end_line(),
            _ => {}
        }
    }

    fn finish(self) -> String {
        let mut result = String::with_capacity(self.out.len());
        let mut blank_run = false;
        for line in self.out.lines() {
            let line = line.trim_end();
            if line.is_empty() {
                blank_run = true;
                continue;
            }
            if !result.is_empty() {
                result.push('\n');
                if blank_run {
                    result.push('\n');
                }
            }
            blank_run = false;
            result.push_str(line);
        }
        result.trim().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_strips_scripts_handlers_and_bad_links() {
        let dirty =
            r#"<script>alert(1)</script><p onclick="x">Hi <a href="javascript:alert(1)">x</a></p>"#;
        assert_eq!(
            sanitize(dirty),
            r#"<p>Hi <a rel="noopener noreferrer">x</a></p>"#
        );
    }

    #[test]
    fn sanitize_keeps_the_allowed_subset() {
        let html = r#"<p class="lead" style="color:red">Soft <strong>and</strong> <em>light</em><br>
<b>b</b> <i>i</i></p><ul><li>One</li></ul><ol><li>Two</li></ol>"#;
        assert_eq!(
            sanitize(html),
            r#"<p>Soft <strong>and</strong> <em>light</em><br>
<b>b</b> <i>i</i></p><ul><li>One</li></ul><ol><li>Two</li></ol>"#
        );
        assert_eq!(
            sanitize(r#"<a href="https://example.com/a?b=1&c=2" title="t" target="_blank">l</a>"#),
            r#"<a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer">l</a>"#
        );
        assert_eq!(
            sanitize(r#"<a href="mailto:shop@example.com">mail</a>"#),
            r#"<a href="mailto:shop@example.com" rel="noopener noreferrer">mail</a>"#
        );
    }

    #[test]
    fn sanitize_drops_other_tags_but_keeps_their_text() {
        assert_eq!(
            sanitize(r#"<div><h1>Title</h1><span>text</span><img src="x.png"></div>"#),
            "Titletext"
        );
        assert_eq!(sanitize("<style>p{}</style>ok<!-- note -->"), "ok");
        assert_eq!(
            sanitize(r#"<a href="/relative">r</a>"#),
            r#"<a rel="noopener noreferrer">r</a>"#
        );
        assert_eq!(sanitize("1 < 2 & 3"), "1 &lt; 2 &amp; 3");
        assert_eq!(sanitize("<p>unclosed"), "<p>unclosed</p>");
    }

    #[test]
    fn to_text_renders_paragraphs_and_lists() {
        let html = "<p>Intro &amp; more</p><ul><li>One</li><li>Two <b>bold</b></li></ul><p>End<br>line</p>";
        assert_eq!(
            to_text(html),
            "Intro & more\n\n- One\n- Two bold\n\nEnd\nline"
        );
    }

    #[test]
    fn to_text_nested_lists_and_source_whitespace() {
        let html = "<ul>\n  <li>A\n    <ul><li>A1</li></ul>\n  </li>\n  <li>B</li>\n</ul>";
        assert_eq!(to_text(html), "- A\n  - A1\n- B");
        let html = "<p>\n  Soft   and\n  light\n</p>\n\n\n<p>Second</p>";
        assert_eq!(to_text(html), "Soft and light\n\nSecond");
    }

    #[test]
    fn to_text_decodes_entities() {
        assert_eq!(
            to_text(
                "<p>&lt;b&gt; &quot;q&quot; &#39;s&#39; &#x41;&#66; a&nbsp;b &copy; &bogus; & x</p>"
            ),
            "<b> \"q\" 's' AB a\u{a0}b © &bogus; & x"
        );
        assert_eq!(
            to_text("<p>&#0; &#x110000; &#xD800;</p>"),
            "\u{fffd} \u{fffd} \u{fffd}"
        );
    }

    #[test]
    fn to_text_decodes_named_and_numeric_references() {
        assert_eq!(to_text("Salt &amp; pepper"), "Salt & pepper");
        assert_eq!(to_text("<p>a&nbsp;b</p>"), "a\u{a0}b");
        assert_eq!(
            to_text("<p>caf&#233; caf&#xE9; caf&eacute;</p>"),
            "café café café"
        );
        assert_eq!(
            to_text("Plain caf&eacute;\nsecond line"),
            "Plain café\nsecond line"
        );
    }

    #[test]
    fn to_text_skips_raw_text_elements_whole() {
        assert_eq!(
            to_text("<head><title>T</title></head><p>Body</p><noscript><p>n</p></noscript>"),
            "Body"
        );
        assert_eq!(to_text("<script>if (a </p> b)</script>after"), "after");
    }

    #[test]
    fn to_text_drops_scripts_comments_and_attributes() {
        let html = r#"<script>alert("<p>x</p>")</script><!-- c --><p title="a>b">Hi <a href="https://x.test/?a>b">x</a></p><STYLE>p{}</STYLE>"#;
        assert_eq!(to_text(html), "Hi x");
        assert_eq!(to_text("<p>1 < 2</p>"), "1 < 2");
        assert_eq!(to_text("<p>cut <b"), "cut");
    }

    #[test]
    fn to_text_keeps_line_breaks_of_plain_text() {
        assert_eq!(
            to_text("Line one\nLine two\n\n\n\nLast  "),
            "Line one\nLine two\n\nLast"
        );
        assert_eq!(to_text(""), "");
        assert_eq!(to_text("  \n "), "");
    }

    #[test]
    fn to_text_of_sanitized_html() {
        let dirty =
            r#"<script>alert(1)</script><p onclick="x">Hi <a href="javascript:alert(1)">x</a></p>"#;
        assert_eq!(to_text(&sanitize(dirty)), "Hi x");
        assert_eq!(to_text(dirty), "Hi x");
    }
}
