//! The small HTML subset `textarea` values may hold, and its plain-text form.
//!
//! [`sanitize`] keeps only `p br ul ol li strong em b i a` (on `a` only an
//! absolute `href` with http, https or mailto, plus `rel="noopener
//! noreferrer"`); everything else is stripped, and the contents of `script`
//! and `style` are dropped entirely. [`to_text`] renders HTML as plain text
//! for channels that take no markup (Google Merchant descriptions, TSV).

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use ammonia::{Builder, UrlRelative};

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
/// entities are decoded (`&amp; &lt; &gt; &quot; &#39; &apos; &nbsp;`, a few
/// common named ones and numeric `&#NN;`/`&#xNN;`; `&nbsp;` becomes U+00A0),
/// whitespace inside text collapses to one space as a browser shows it, runs
/// of blank lines collapse to one, and the result is trimmed.
///
/// A value without any tag is taken as plain text: its line breaks are kept.
/// Contents of `script` and `style` are dropped.
pub fn to_text(html: &str) -> String {
    let mut out = TextWriter::new(has_markup(html));
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        out.text(&rest[..at]);
        rest = &rest[at..];
        rest = match Tag::parse(rest) {
            Some((tag, after)) => {
                if !tag.closing && SKIPPED_CONTENT.contains(&tag.name.as_str()) {
                    skip_element(&tag.name, after)
                } else {
                    out.tag(&tag);
                    after
                }
            }
            None if rest.starts_with("<!") || rest.starts_with("<?") => skip_declaration(rest),
            None => {
                out.text("<");
                &rest[1..]
            }
        };
    }
    out.text(rest);
    out.finish()
}

/// True when `html` holds at least one tag, comment or declaration.
fn has_markup(html: &str) -> bool {
    html.as_bytes().windows(2).any(|pair| {
        pair[0] == b'<' && (pair[1].is_ascii_alphabetic() || matches!(pair[1], b'/' | b'!' | b'?'))
    })
}

/// A start or end tag, its name lower-cased.
struct Tag {
    name: String,
    closing: bool,
}

impl Tag {
    /// Parses a tag at the start of `text` (which starts with `<`); returns
    /// it and the text after its `>`. Quoted attribute values may hold `>`.
    fn parse(text: &str) -> Option<(Tag, &str)> {
        let body = text.strip_prefix('<')?;
        let (closing, body) = match body.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, body),
        };
        if !body.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return None;
        }
        let name_end = body
            .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
            .unwrap_or(body.len());
        let name = body[..name_end].to_ascii_lowercase();
        let mut quote: Option<char> = None;
        for (offset, c) in body[name_end..].char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '>') => {
                    let after = &body[name_end + offset + 1..];
                    return Some((Tag { name, closing }, after));
                }
                (None, _) => {}
            }
        }
        // An unterminated tag swallows the rest, as in a browser.
        Some((Tag { name, closing }, ""))
    }
}

/// Skips the contents of `name` up to and including its end tag.
fn skip_element<'a>(name: &str, text: &'a str) -> &'a str {
    let mut rest = text;
    while let Some(at) = rest.find("</") {
        let candidate = &rest[at + 2..];
        let named = candidate
            .get(..name.len())
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(name));
        if named {
            return match candidate.find('>') {
                Some(close) => &candidate[close + 1..],
                None => "",
            };
        }
        rest = candidate;
    }
    ""
}

/// Skips a comment (`<!-- … -->`), doctype or processing instruction.
fn skip_declaration(text: &str) -> &str {
    if let Some(comment) = text.strip_prefix("<!--") {
        return match comment.find("-->") {
            Some(end) => &comment[end + 3..],
            None => "",
        };
    }
    match text.find('>') {
        Some(end) => &text[end + 1..],
        None => "",
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
        let decoded = decode_entities(raw);
        if !self.markup {
            self.out.push_str(&decoded);
            return;
        }
        // Whitespace collapses to one space, and none at a line start.
        let mut pending_space = false;
        for c in decoded.chars() {
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

    fn tag(&mut self, tag: &Tag) {
        let name = tag.name.as_str();
        match name {
            "br" => self.line_break(),
            "hr" => self.paragraph(),
            "li" if tag.closing => self.end_line(),
            "li" => {
                self.end_line();
                let indent = self.list_depth.saturating_sub(1);
                self.out.push_str(&"  ".repeat(indent));
                self.out.push_str("- ");
            }
            "ul" | "ol" => {
                if tag.closing {
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

/// Decodes character references; unknown or malformed ones stay as written.
fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match decode_one(rest) {
            Some((decoded, used)) => {
                out.push(decoded);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Decodes the reference at the start of `text` (which starts with `&`):
/// the character and the bytes it took, semicolon included.
fn decode_one(text: &str) -> Option<(char, usize)> {
    // The longest reference we decode, `&#x10FFFF;`, is 10 bytes; names are shorter.
    let end = text.bytes().take(12).position(|b| b == b';')?;
    let body = &text[1..end];
    let decoded = if let Some(number) = body.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse::<u32>().ok()?,
        };
        match char::from_u32(code) {
            Some(c) if code != 0 => c,
            _ => char::REPLACEMENT_CHARACTER,
        }
    } else {
        named_entity(body)?
    };
    Some((decoded, end + 1))
}

fn named_entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "euro" => '€',
        "deg" => '°',
        "times" => '×',
        "bull" => '•',
        "middot" => '·',
        _ => return None,
    })
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
