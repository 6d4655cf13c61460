// Starts GraphiQL on the page served at GET /graphql (src/http/graphiql.rs). It lives in a file
// of its own, not in the HTML, because the page's Content-Security-Policy allows scripts from
// this server only (`script-src 'self'`, no inline code).
'use strict';
(function () {
  var root = document.getElementById('graphiql');
  var endpoint = new URL(root.getAttribute('data-endpoint'), window.location.href).toString();
  // The API authenticates by the Authorization header alone (set it in the Headers tab), so the
  // requests carry no cookies.
  var fetcher = GraphiQL.createFetcher({
    url: endpoint,
    fetch: function (url, init) {
      return window.fetch(url, Object.assign({}, init, { credentials: 'omit' }));
    },
  });
  var defaultQuery = [
    '# Welcome to the bac-metrics API.',
    '#',
    '# Most fields need an access token: open the Headers tab below and paste',
    '#   {"Authorization": "Bearer <access token>"}',
    '# (`bac-metrics token --email you@agency.gov` prints one; `serve --demo` prints one per role),',
    '# or run the `login` mutation and copy its accessToken.',
    '',
    '{',
    '  me {',
    '    displayName',
    '    role',
    '    orgUnit { code name }',
    '  }',
    '}',
    '',
  ].join('\n');
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultEditorToolsVisibility: true,
    }),
  );
})();
