//! gzip for the page's HTML, style sheet and script, when the browser says it takes it.
//!
//! Members read the page on cheap phones over slow, metered links: a board of 50 offers
//! is tens of kilobytes of HTML that gzip brings to a fraction. Only whole text bodies
//! are compressed (pages, `style.css`, `app.js`); the live stream (`text/event-stream`),
//! result files and the API's JSON pass untouched.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;

/// Bodies shorter than this go as they are: gzip's header and trailer would eat the gain.
const MIN_BYTES: usize = 512;
/// Largest body compressed: pages are a few kilobytes to a few hundred; anything larger
/// is not one of ours and goes as it is.
const MAX_BYTES: usize = 8 * 1024 * 1024;

/// Whether `Accept-Encoding` allows gzip: `gzip` (or `x-gzip`, or `*`) listed with a weight
/// above zero.
pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut star = false;
    for v in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(v) = v.to_str() else { continue };
        for part in v.split(',') {
            let mut it = part.split(';');
            let coding = it.next().unwrap_or("").trim().to_ascii_lowercase();
            // `q=0` (or 0.0, 0.000) refuses the coding; a weight that does not read is
            // taken as 1, as if absent.
            let zero = it.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            match coding.as_str() {
                "gzip" | "x-gzip" => return !zero,
                "*" => star = !zero,
                _ => {}
            }
        }
    }
    star
}

/// Whether a response of this type is one of the page's text files.
fn compressible(headers: &HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let ct = ct.to_ascii_lowercase();
    ["text/html", "text/css", "text/javascript"]
        .iter()
        .any(|t| ct.starts_with(t))
}

/// Compresses the page's text responses for browsers that accept gzip.
pub(crate) async fn gzip(req: Request, next: Next) -> Response {
    let wants = accepts_gzip(req.headers());
    let r = next.run(req).await;
    if !compressible(r.headers()) || r.headers().contains_key(header::CONTENT_ENCODING) {
        return r;
    }
    let (mut parts, body) = r.into_parts();
    // Whatever the answer, a cache must keep the two encodings apart.
    parts
        .headers
        .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    if !wants {
        return Response::from_parts(parts, body);
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BYTES).await else {
        // Too large or broken: nothing sensible to send but an error.
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    };
    if bytes.len() < MIN_BYTES {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let mut enc = GzEncoder::new(Vec::with_capacity(bytes.len() / 3), Compression::default());
    let packed = enc.write_all(&bytes).and_then(|()| enc.finish());
    match packed {
        Ok(z) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            parts
                .headers
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            Response::from_parts(parts, Body::from(z))
        }
        Err(_) => Response::from_parts(parts, Body::from(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(v).expect("value"),
        );
        h
    }

    #[test]
    fn gzip_only_when_the_browser_takes_it() {
        assert!(accepts_gzip(&with("gzip, deflate, br")));
        assert!(accepts_gzip(&with("br;q=1.0, gzip;q=0.8")));
        assert!(accepts_gzip(&with("*")));
        assert!(!accepts_gzip(&with("gzip;q=0")));
        assert!(!accepts_gzip(&with("gzip;q=0.000, *")));
        assert!(!accepts_gzip(&with("br, identity")));
        assert!(!accepts_gzip(&with("*;q=0")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
