// lineage-reg's GraphiQL: queries and mutations over POST to this page's URL, subscriptions over a WebSocket
// (graphql-transport-ws) to the same URL. The token goes in the Headers pane, as
//   {"Authorization": "Bearer lrt_..."}
// and is sent with every request, and in `connection_init` for subscriptions. GraphiQL does not save the
// headers (shouldPersistHeaders is off) and this page never puts them in its URL.
"use strict";

const EXAMPLE_QUERY = `# lineage-reg GraphiQL
#
# Put your token in the Headers pane below:
#   {"Authorization": "Bearer lrt_..."}
#
# Run: Ctrl-Enter. Complete: Ctrl-Space. The schema is in the Docs pane.
{
  projects(first: 10) {
    edges { node { name } }
  }
}
`;

const parameters = {};
for (const entry of window.location.search.slice(1).split("&")) {
  const eq = entry.indexOf("=");
  if (eq >= 0) {
    parameters[decodeURIComponent(entry.slice(0, eq))] = decodeURIComponent(entry.slice(eq + 1));
  }
}

function updateURL(data) {
  Object.assign(parameters, data);
  const search = Object.keys(parameters)
    .filter((key) => Boolean(parameters[key]))
    .map((key) => encodeURIComponent(key) + "=" + encodeURIComponent(parameters[key]))
    .join("&");
  history.replaceState(null, null, "?" + search);
}

const fetchURL = window.location.href.split("?")[0].split("#")[0];
const subscriptionUrl = fetchURL.replace(/^http/, "ws"); // http -> ws, https -> wss

// One fetcher per set of headers: the WebSocket client takes its connection_init payload (the token) when it
// is made, so a token typed in later needs a client of its own.
const fetchers = new Map();
function fetcher(params, options) {
  const headers = (options && options.headers) || {};
  const key = JSON.stringify(headers);
  if (!fetchers.has(key)) {
    fetchers.set(key, GraphiQL.createFetcher({ url: fetchURL, subscriptionUrl, wsConnectionParams: headers }));
  }
  return fetchers.get(key)(params, options);
}

function App() {
  const [query, setQuery] = React.useState(parameters.q || EXAMPLE_QUERY);
  const [variables, setVariables] = React.useState(parameters.variables);
  return React.createElement(GraphiQL, {
    fetcher,
    query,
    variables,
    shouldPersistHeaders: false,
    defaultEditorToolsVisibility: true,
    onEditQuery: (q) => { setQuery(q); updateURL({ q }); },
    onEditVariables: (v) => { setVariables(v); updateURL({ variables: v }); },
  });
}

ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(App));
