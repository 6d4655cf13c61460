//! Who the client is, for per-address limits (sign-in throttle, survey submissions): the TCP
//! peer, unless the peer is one of the configured `TRUSTED_PROXIES` — then the address the
//! proxies forwarded (`Forwarded`, RFC 7239, or else `X-Forwarded-For`), read from the right:
//! the nearest address that is not itself a trusted proxy. A client cannot forge its way
//! around a limit, because headers are believed only from the proxies the operator named.

use std::net::IpAddr;

use actix_web::{http::header::HeaderMap, HttpRequest};
use ipnet::IpNet;

/// The client's address as text (`unknown` when the peer address is not known).
pub fn client_address(request: &HttpRequest, trusted_proxies: &[IpNet]) -> String {
    match request.peer_addr() {
        Some(peer) => resolve(peer.ip(), request.headers(), trusted_proxies).to_string(),
        None => "unknown".to_owned(),
    }
}

fn resolve(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpNet]) -> IpAddr {
    let trusted = |address: &IpAddr| trusted_proxies.iter().any(|net| net.contains(address));
    if !trusted(&peer) {
        return peer;
    }
    let chain = forwarded_chain(headers);
    // Right to left: each hop was appended by the proxy in front of it.
    let mut client = peer;
    for address in chain.iter().rev() {
        client = *address;
        if !trusted(address) {
            break;
        }
    }
    client
}

/// The addresses a proxy chain forwarded, oldest (the original client) first.
fn forwarded_chain(headers: &HeaderMap) -> Vec<IpAddr> {
    let forwarded: Vec<IpAddr> = headers
        .get_all("forwarded")
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_node(value.trim().trim_matches('"')))?
            })
        })
        .collect();
    if !forwarded.is_empty() {
        return forwarded;
    }
    headers
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|item| parse_node(item.trim()))
        .collect()
}

/// An address from a `for=` node or an `X-Forwarded-For` item: `192.0.2.1`, `192.0.2.1:4711`,
/// `[2001:db8::1]`, `[2001:db8::1]:4711` or a bare IPv6 address. Obfuscated nodes are ignored.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(address) = node.parse::<IpAddr>() {
        return Some(address);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let (host, port) = node.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarding_headers_are_ignored_unless_the_peer_is_trusted() {
        let forged = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            resolve(ip("198.51.100.7"), &forged, &[]),
            ip("198.51.100.7")
        );
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            resolve(ip("198.51.100.7"), &forged, &proxies),
            ip("198.51.100.7")
        );
        assert_eq!(
            resolve(ip("10.1.2.3"), &forged, &proxies),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn the_nearest_untrusted_hop_is_the_client() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // The client claims to be 1.1.1.1; the edge proxy appended the real address.
        let chain = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.2")]);
        assert_eq!(resolve(ip("10.0.0.1"), &chain, &proxies), ip("203.0.113.9"));
        let standard = headers(&[(
            "forwarded",
            "for=1.1.1.1, for=\"[2001:db8::7]:4711\";proto=https, for=10.0.0.2",
        )]);
        assert_eq!(
            resolve(ip("10.0.0.1"), &standard, &proxies),
            ip("2001:db8::7")
        );
        assert_eq!(parse_node("192.0.2.1:80"), Some(ip("192.0.2.1")));
        assert_eq!(parse_node("_hidden"), None);
    }
}
