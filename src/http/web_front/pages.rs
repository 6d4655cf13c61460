//! The web front's HTML: one layout (skip link, banner with the account and a sign-out form,
//! `main` landmark) and its pages. Every page works without JavaScript, loads nothing from
//! anywhere, and carries one inline stylesheet whose hash is the only style source its
//! Content-Security-Policy allows. Every interpolated text is escaped.

use std::sync::LazyLock;

use base64::{engine::general_purpose::STANDARD, Engine};
use sha2::{Digest, Sha256};

use crate::{
    auth::{scope::is_allowed, Action},
    db::enums::Role,
    http::reports::escape_html,
};

use super::quarters::FiscalQuarter;

/// The signed-in user, as the banner shows them, with the token their forms carry.
pub struct Account<'a> {
    pub display_name: &'a str,
    pub role: Role,
    pub form_token: &'a str,
}

/// The stylesheet of every web front page (and of the report's banner). Colours meet WCAG AA
/// contrast: body text 16:1, muted text 5.9:1, links and buttons 8.6:1 on their backgrounds;
/// the focus ring is 3 px and contrasts with both the page and the dark banner.
pub const STYLE: &str = "
:root { --ink: #1b1f24; --muted: #4f5864; --rule: #8a939e; --band: #f2f5f8; --accent: #0b4f8a;
        --error: #a12a1c; --focus: #f5b400; }
* { box-sizing: border-box; }
html { font: 16px/1.5 -apple-system, 'Segoe UI', 'Liberation Sans', Arial, sans-serif; color: var(--ink); background: #fff; }
body { margin: 0; }
a { color: var(--accent); text-decoration: underline; }
a:hover { text-decoration-thickness: 3px; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; box-shadow: 0 0 0 5px var(--ink); }
.skip-link { position: absolute; left: 8px; top: -60px; background: #fff; color: var(--accent);
             padding: 8px 12px; z-index: 10; font-weight: 600; }
.skip-link:focus { top: 8px; }
.site-header { background: var(--accent); color: #fff; }
.site-header .bar { max-width: 1200px; margin: 0 auto; padding: 10px 16px; display: flex; flex-wrap: wrap;
                    align-items: center; justify-content: space-between; gap: 8px 24px; }
.site-header a { color: #fff; }
.brand { font-weight: 700; font-size: 18px; }
.site-nav { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 20px; margin: 0; padding: 0; list-style: none; }
.site-nav form { margin: 0; }
.account { font-size: 15px; }
.site-header button { font: inherit; font-size: 15px; color: var(--accent); background: #fff; border: 2px solid #fff;
                      padding: 3px 12px; cursor: pointer; }
.page { max-width: 760px; margin: 0 auto; padding: 24px 16px 48px; }
.page.wide { max-width: 1200px; }
h1 { font-size: 28px; line-height: 1.25; margin: 8px 0 16px; }
h2 { font-size: 20px; margin: 28px 0 8px; }
.lead { font-size: 18px; }
.muted { color: var(--muted); }
.field { margin: 0 0 20px; }
label { display: block; font-weight: 600; margin-bottom: 4px; }
.hint { display: block; color: var(--muted); margin-bottom: 4px; }
input[type=email], input[type=password], input[type=number], select {
  font: inherit; width: 100%; max-width: 24em; padding: 6px 8px; border: 2px solid var(--ink); border-radius: 0; background: #fff; color: var(--ink); }
input[type=number] { max-width: 8em; }
select { max-width: 10em; padding: 7px 8px; }
input[aria-invalid=true] { border-color: var(--error); border-width: 3px; }
.error-message { color: var(--error); font-weight: 600; margin: 0 0 4px; }
.button { font: inherit; font-weight: 600; color: #fff; background: var(--accent); border: 2px solid var(--accent);
          padding: 8px 20px; cursor: pointer; }
.button:hover { background: #083a66; }
.error-summary { border: 4px solid var(--error); padding: 12px 16px; margin: 0 0 24px; }
.error-summary h2 { margin: 0 0 8px; font-size: 20px; }
.error-summary ul { margin: 0; padding-left: 20px; }
.error-summary a { color: var(--error); font-weight: 600; }
.notice { border-left: 6px solid var(--accent); background: var(--band); padding: 10px 14px; margin: 0 0 24px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
caption { text-align: left; font-weight: 600; padding: 0 0 6px; }
th, td { border: 1px solid var(--rule); padding: 6px 10px; text-align: left; vertical-align: top; }
thead th { background: var(--band); }
.inline-form { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 12px 20px; }
.inline-form .field { margin: 0; }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; margin: -1px; padding: 0;
                   overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
footer.site-footer { max-width: 1200px; margin: 0 auto; padding: 16px; color: var(--muted); font-size: 14px; }
@media print { .skip-link, .site-header, .site-footer { display: none; } }
";

/// `'sha256-…'` of an inline stylesheet, for `style-src`.
pub fn style_hash(style: &str) -> String {
    format!(
        "'sha256-{}'",
        STANDARD.encode(Sha256::digest(style.as_bytes()))
    )
}

/// The Content-Security-Policy of a page whose only styles are inline `<style>` elements with
/// these texts: nothing else loads, scripts never run, forms post only here.
pub fn policy_for_styles(styles: &[&str]) -> String {
    let hashes: Vec<String> = styles.iter().map(|style| style_hash(style)).collect();
    format!(
        "default-src 'none'; style-src {}; img-src data:; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
        hashes.join(" ")
    )
}

/// The policy of every web front page.
pub static PAGE_CSP: LazyLock<String> = LazyLock::new(|| policy_for_styles(&[STYLE]));

/// The roles that may read the oversight report, as words ("auditor and admin"), from the
/// scope module's matrix.
pub fn report_roles() -> String {
    let roles: Vec<&str> = Role::ALL
        .iter()
        .copied()
        .filter(|role| is_allowed(*role, Action::ReadOversightReport))
        .map(Role::as_db_str)
        .collect();
    match roles.as_slice() {
        [] => "no".to_owned(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The banner: the service name, then (signed in) who, the quarters, and a sign-out form.
pub fn banner(account: Option<&Account>, extra_links: &[(&str, &str)]) -> String {
    let mut nav = String::new();
    if let Some(account) = account {
        nav.push_str("<nav aria-label=\"Account\"><ul class=\"site-nav\">");
        for (href, text) in extra_links {
            nav.push_str(&format!(
                "<li><a href=\"{}\">{}</a></li>",
                escape_html(href),
                escape_html(text)
            ));
        }
        nav.push_str(&format!(
            "<li class=\"account\">Signed in as {name} ({role})</li>\
             <li><form method=\"post\" action=\"/web/sign-out\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{token}\">\
             <button type=\"submit\">Sign out</button></form></li></ul></nav>",
            name = escape_html(account.display_name),
            role = account.role.as_db_str(),
            token = escape_html(account.form_token),
        ));
    }
    format!(
        "<a class=\"skip-link\" href=\"#main\">Skip to main content</a>\n\
         <header class=\"site-header\"><div class=\"bar\">\
         <a class=\"brand\" href=\"/web/\">Customer assistance metrics</a>{nav}</div></header>\n"
    )
}

/// A whole page: `title` (the page's, before the service name) and the `main` content.
pub fn document(title: &str, account: Option<&Account>, main: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n<link rel=\"icon\" href=\"data:,\">\n\
         <title>{title} — bac-metrics</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{banner}\
         <main id=\"main\" class=\"page\" tabindex=\"-1\">\n{main}</main>\n\
         <footer class=\"site-footer\">bac-metrics — customer assistance metrics program</footer>\n\
         </body>\n</html>\n",
        title = escape_html(title),
        banner = banner(account, &[]),
    )
}

/// What the sign-in form shows.
#[derive(Default)]
pub struct SignInForm<'a> {
    /// The email typed before (kept after a failed attempt).
    pub email: &'a str,
    /// The problem with the last attempt, shown in an error summary and at the email field.
    pub error: Option<&'a str>,
    /// A note above the form (signed out, session ended).
    pub notice: Option<&'a str>,
    /// The double-submit token also set as the sign-in cookie.
    pub csrf: &'a str,
    /// Where to go after signing in (already checked to be a local path).
    pub next: Option<&'a str>,
    /// The identity provider's name, when signing in there is offered (`OIDC_CLIENT_ID`).
    pub provider: Option<&'a str>,
}

/// `GET /web/sign-in` and a failed attempt.
pub fn sign_in(form: &SignInForm) -> String {
    let mut main = String::new();
    let title = if form.error.is_some() {
        "Error: Sign in"
    } else {
        "Sign in"
    };
    if let Some(error) = form.error {
        main.push_str(&format!(
            "<div class=\"error-summary\" role=\"alert\" aria-labelledby=\"error-summary-title\">\
             <h2 id=\"error-summary-title\">There is a problem</h2>\
             <ul><li><a href=\"#email\">{}</a></li></ul></div>\n",
            escape_html(error)
        ));
    }
    main.push_str("<h1>Sign in</h1>\n");
    if let Some(notice) = form.notice {
        main.push_str(&format!(
            "<div class=\"notice\" role=\"status\">{}</div>\n",
            escape_html(notice)
        ));
    }
    let how = match form.provider {
        Some(provider) => format!(
            "Sign in with your program staff account — your password, or {} — to read the quarterly oversight reports.",
            escape_html(provider)
        ),
        None => "Sign in with your program staff account to read the quarterly oversight reports.".to_owned(),
    };
    main.push_str(&format!(
        "<p class=\"lead\">{how} Reports are open to the {roles} roles.</p>\n",
        roles = report_roles()
    ));
    if let Some(provider) = form.provider {
        let next = form
            .next
            .map(|next| format!("?next={}", super::percent_encode(next)))
            .unwrap_or_default();
        main.push_str(&format!(
            "<p><a class=\"button\" href=\"/web/sign-in/provider{next}\">Sign in with {}</a></p>\n\
             <h2>Or sign in with your password</h2>\n",
            escape_html(provider),
            next = escape_html(&next),
        ));
    }
    let (invalid, described, inline_error) = match form.error {
        Some(error) => (
            " aria-invalid=\"true\"",
            " aria-describedby=\"email-error\"",
            format!(
                "<p id=\"email-error\" class=\"error-message\"><span class=\"visually-hidden\">Error:</span> {}</p>",
                escape_html(error)
            ),
        ),
        None => ("", "", String::new()),
    };
    main.push_str(&format!(
        "<form method=\"post\" action=\"/web/sign-in\">\n\
         <div class=\"field\"><label for=\"email\">Email address</label>{inline_error}\
         <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" spellcheck=\"false\" required value=\"{email}\"{invalid}{described}></div>\n\
         <div class=\"field\"><label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required{invalid}></div>\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n{next}\
         <button class=\"button\" type=\"submit\">Sign in</button>\n</form>\n\
         <p class=\"muted\">Scripts and BI tools use the API with a bearer token instead of this page.</p>\n",
        email = escape_html(form.email),
        csrf = escape_html(form.csrf),
        next = form
            .next
            .map(|next| format!(
                "<input type=\"hidden\" name=\"next\" value=\"{}\">\n",
                escape_html(next)
            ))
            .unwrap_or_default(),
    ));
    document(title, None, &main)
}

/// The report's URL for a quarter.
pub fn report_href(fiscal_year: i32, quarter: u32) -> String {
    format!("/reports/oversight?fiscalYear={fiscal_year}&quarter={quarter}")
}

/// The CSV's URL for a quarter.
pub fn csv_href(fiscal_year: i32, quarter: u32) -> String {
    format!("/export/oversight-report.csv?fiscalYear={fiscal_year}&quarter={quarter}")
}

/// `GET /web/`: the quarters with data, each with its report and CSV, and a form for any other.
pub fn index(account: &Account, quarters: &[FiscalQuarter], time_zone: &str) -> String {
    let mut main = String::from("<h1>Quarterly oversight reports</h1>\n");
    main.push_str(&format!(
        "<p class=\"lead\">Each report covers one fiscal quarter of the customer assistance metrics program: \
         the OMB A-11 survey drivers by unit and channel, service standards, training, resource allocations, \
         and the audit chain head that proves the data has not changed since. Days are cut in the {zone} time zone.</p>\n",
        zone = escape_html(time_zone)
    ));
    if quarters.is_empty() {
        main.push_str(
            "<p>No interactions have been recorded yet, so there is no quarter to report on.</p>\n",
        );
    } else {
        main.push_str(
            "<table>\n<caption>Fiscal quarters with recorded interactions, newest first</caption>\n\
             <thead><tr><th scope=\"col\">Fiscal quarter</th><th scope=\"col\">Dates</th>\
             <th scope=\"col\">Printable report</th><th scope=\"col\">Data</th></tr></thead>\n<tbody>\n",
        );
        for quarter in quarters {
            let label = escape_html(&quarter.label());
            main.push_str(&format!(
                "<tr><th scope=\"row\">{label}</th><td>{from} to {to}</td>\
                 <td><a href=\"{report}\">Open report<span class=\"visually-hidden\"> {label}</span></a></td>\
                 <td><a href=\"{csv}\" download>Download CSV<span class=\"visually-hidden\"> {label}</span></a></td></tr>\n",
                from = quarter.first_day.format("%Y-%m-%d"),
                to = quarter.last_day.format("%Y-%m-%d"),
                report = escape_html(&report_href(quarter.fiscal_year, quarter.quarter)),
                csv = escape_html(&csv_href(quarter.fiscal_year, quarter.quarter)),
            ));
        }
        main.push_str("</tbody>\n</table>\n");
    }
    let (year, quarter) = quarters
        .first()
        .map(|q| (q.fiscal_year, q.quarter))
        .unwrap_or((2026, 1));
    main.push_str("<h2>Another quarter</h2>\n");
    main.push_str(&format!(
        "<form class=\"inline-form\" method=\"get\" action=\"/reports/oversight\">\n\
         <div class=\"field\"><label for=\"fiscal-year\">Fiscal year</label>\
         <input id=\"fiscal-year\" name=\"fiscalYear\" type=\"number\" min=\"1990\" max=\"2200\" required value=\"{year}\"></div>\n\
         <div class=\"field\"><label for=\"quarter\">Quarter</label><select id=\"quarter\" name=\"quarter\">{options}</select></div>\n\
         <button class=\"button\" type=\"submit\">Open report</button>\n</form>\n",
        options = (1..=4)
            .map(|q| format!(
                "<option value=\"{q}\"{selected}>Q{q}</option>",
                selected = if q == quarter { " selected" } else { "" }
            ))
            .collect::<String>(),
    ));
    document("Oversight reports", Some(account), &main)
}

/// 403: signed in, but the role may not read reports.
pub fn forbidden(account: &Account) -> String {
    let main = format!(
        "<h1>You do not have access to oversight reports</h1>\n\
         <p class=\"lead\">You are signed in as {name}, whose role is {role}. Quarterly oversight reports are open to the {roles} roles only.</p>\n\
         <p>If your work needs them, ask a program administrator to review your role. \
         Everything your role may see is available through the API with an access token.</p>\n",
        name = escape_html(account.display_name),
        role = account.role.as_db_str(),
        roles = report_roles(),
    );
    document("Access denied", Some(account), &main)
}

/// Any other problem: a heading, what happened, and the way back.
pub fn problem(account: Option<&Account>, heading: &str, message: &str) -> String {
    let main = format!(
        "<h1>{heading}</h1>\n<p class=\"lead\">{message}</p>\n<p><a href=\"/web/\">Back to the oversight reports</a></p>\n",
        heading = escape_html(heading),
        message = escape_html(message),
    );
    document(heading, account, &main)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_what_they_show() {
        let html = sign_in(&SignInForm {
            email: "\"><script>x</script>",
            error: Some("<b>bad</b>"),
            csrf: "t",
            next: Some("/reports/oversight?a=1&b=\"2\""),
            ..Default::default()
        });
        assert!(!html.contains("<script>x"));
        assert!(!html.contains("<b>bad"));
        assert!(html.contains("a=1&amp;b=&quot;2&quot;"));
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("href=\"#main\""));
    }

    #[test]
    fn the_policy_allows_exactly_the_inline_stylesheet() {
        assert!(PAGE_CSP.contains(&style_hash(STYLE)));
        assert!(!PAGE_CSP.contains("unsafe"));
        // Scripts fall back to `default-src 'none'`: none run.
        assert!(PAGE_CSP.starts_with("default-src 'none';") && !PAGE_CSP.contains("script-src"));
        assert_eq!(report_roles(), "auditor and admin");
    }
}
