using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;

namespace SecureComms.DevCert;

/// <summary>One service of the graph: its SPIFFE ID and its loaded configuration.</summary>
internal sealed record GraphService(SpiffeId Id, string Files, ServicePolicy Policy);

/// <summary>The who-may-call-whom graph of a set of services, and its Mermaid and DOT renderings.</summary>
internal sealed class ServiceGraph
{
    private readonly List<GraphService> _services;
    private readonly List<Edge> _edges = [];
    private readonly List<string> _notes = [];

    private ServiceGraph(List<GraphService> services) => _services = services;

    private enum EdgeKind
    {
        Allow,
        Deny,
        Client,
        Observed,
    }

    /// <summary>What a reader should look at: clients no rule lets in, grants no observed call used.</summary>
    public IReadOnlyList<string> Notes => _notes;

    /// <summary>
    /// Each service's SPIFFE ID: the given one, its certificate's, or the ExpectedServer of another service's client
    /// that points at one of its listeners. Every service that has none is added to <paramref name="problems"/>.
    /// </summary>
    public static List<GraphService> Identify(List<(string? Id, string Files, ServicePolicy Policy)> loaded, List<string> problems)
    {
        var services = new List<GraphService>();
        foreach ((string? given, string files, ServicePolicy policy) in loaded)
        {
            if (given is not null)
            {
                services.Add(new GraphService(SpiffeId.Parse(given), files, policy));
                continue;
            }

            string? why = null;
            SpiffeId id = FromCertificate(files, policy, ref why);
            if (id.IsEmpty)
            {
                id = FromOtherServicesClients(policy, loaded);
            }

            if (id.IsEmpty)
            {
                problems.Add($"cannot tell the SPIFFE ID of '{files}': {why ?? "SecureComms:Certificate:CertificatePath is not set"}, and no other service's client (SecureComms:Clients:*:BaseAddress) points at its SecureComms:Server:Urls. Name it: --config spiffe://…={files}");
                continue;
            }

            services.Add(new GraphService(id, files, policy));
        }

        return services;
    }

    private static SpiffeId FromCertificate(string files, ServicePolicy policy, ref string? why)
    {
        string? certificatePath = policy.Configuration["SecureComms:Certificate:CertificatePath"];
        if (string.IsNullOrEmpty(certificatePath))
        {
            return default;
        }

        string first = files.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0];
        string path = Path.GetFullPath(certificatePath, Path.GetDirectoryName(Path.GetFullPath(first))!);
        if (!File.Exists(path))
        {
            why = $"its certificate '{path}' does not exist";
            return default;
        }

        try
        {
            var certificates = new X509Certificate2Collection();
            certificates.ImportFromPemFile(path);
            try
            {
                if (certificates.Count > 0 && SvidInspector.TryGetSpiffeId(certificates[0], out SpiffeId id, out string? error))
                {
                    return id;
                }

                why = $"its certificate '{path}' is no X.509-SVID";
                return default;
            }
            finally
            {
                foreach (X509Certificate2 certificate in certificates)
                {
                    certificate.Dispose();
                }
            }
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            why = $"its certificate '{path}' cannot be read ({ex.Message})";
            return default;
        }
    }

    private static SpiffeId FromOtherServicesClients(ServicePolicy policy, List<(string? Id, string Files, ServicePolicy Policy)> loaded)
    {
        var listeners = new List<Uri>();
        foreach (IConfigurationSection url in policy.Configuration.GetSection("SecureComms:Server:Urls").GetChildren())
        {
            if (Uri.TryCreate(url.Value, UriKind.Absolute, out Uri? uri))
            {
                listeners.Add(uri);
            }
        }

        foreach ((_, _, ServicePolicy other) in loaded)
        {
            if (ReferenceEquals(other, policy))
            {
                continue;
            }

            foreach (IConfigurationSection client in other.Configuration.GetSection("SecureComms:Clients").GetChildren())
            {
                if (Uri.TryCreate(client["BaseAddress"], UriKind.Absolute, out Uri? address)
                    && listeners.Exists(l => Uri.Compare(l, address, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0)
                    && SpiffeId.TryParse(client["ExpectedServer"], out SpiffeId expected) && !expected.IsTrustDomainId)
                {
                    return expected;
                }
            }
        }

        return default;
    }

    /// <summary>Allow, Deny and client edges of every service.</summary>
    public static ServiceGraph Build(List<GraphService> services)
    {
        services.Sort((a, b) => string.CompareOrdinal(a.Id.ToString(), b.Id.ToString()));
        var graph = new ServiceGraph(services);
        foreach (GraphService service in services)
        {
            string to = service.Id.ToString();
            foreach (CallerRuleOptions rule in service.Policy.Options.Rules)
            {
                if (rule.Action == PolicyAction.Audit)
                {
                    continue;
                }

                string what = (rule.Methods.Count == 0 ? "any method" : string.Join(',', rule.Methods.Select(m => m.ToUpperInvariant())))
                    + " " + string.Join(' ', rule.Paths)
                    + (rule.Scopes.Count == 0 ? string.Empty : $" [{string.Join(' ', rule.Scopes)}]");
                foreach (string caller in rule.Callers)
                {
                    EdgeKind kind = rule.Action == PolicyAction.Deny ? EdgeKind.Deny : EdgeKind.Allow;
                    Edge edge = graph.EdgeOf(caller, to, kind);
                    edge.Labels.Add(kind == EdgeKind.Deny ? "deny " + what : what);
                    edge.Rules.Add(rule.Name ?? $"rule-{service.Policy.Options.Rules.IndexOf(rule)}");
                }
            }
        }

        foreach (GraphService service in services)
        {
            foreach (IConfigurationSection client in service.Policy.Configuration.GetSection("SecureComms:Clients").GetChildren().OrderBy(c => c.Key, StringComparer.Ordinal))
            {
                if (!SpiffeId.TryParse(client["ExpectedServer"], out SpiffeId target))
                {
                    continue;
                }

                Edge edge = graph.EdgeOf(service.Id.ToString(), target.ToString(), EdgeKind.Client);
                edge.Labels.Add($"client {client.Key}");
                GraphService? server = services.Find(s => s.Id == target);
                if (server is not null && !AnyRuleAllows(server.Policy, service.Id))
                {
                    edge.Problem = "no rule allows this caller";
                    graph._notes.Add($"problem: {service.Id}'s client '{client.Key}' calls {target}, whose policy allows {service.Id} nothing.");
                }
            }
        }

        return graph;
    }

    /// <summary>Whether the server's compiled policy allows the caller any of the requests its rules stand for.</summary>
    private static bool AnyRuleAllows(ServicePolicy server, SpiffeId caller)
    {
        RequestSamples samples = RequestSamples.From([server.Options]);
        foreach (string method in samples.Methods)
        {
            foreach (RequestSamples.Sample path in samples.Paths)
            {
                for (int w = 0; w < samples.Workloads.Count; w++)
                {
                    for (int u = 0; u < samples.Users.Count; u++)
                    {
                        if (server.Policy.Evaluate(new PolicyRequest(caller, method, path.Value, samples.Principal(caller, w, u))).Allowed)
                        {
                            return true;
                        }
                    }
                }
            }
        }

        return false;
    }

    /// <summary>Adds observed decisions: counts per edge, and Allow edges no observed call used.</summary>
    public void Overlay(List<(SpiffeId Service, AuditEvent Event)> events)
    {
        foreach ((SpiffeId service, AuditEvent audit) in events)
        {
            string to = service.ToString();
            if (audit.PolicyAllowed)
            {
                // The rule that allowed it names the edge: the caller's own one, else the patterns it falls under.
                List<Edge> candidates = _edges.FindAll(e => e.Kind == EdgeKind.Allow && e.To == to && e.Rules.Contains(audit.Rule));
                Edge? own = candidates.Find(e => e.From == audit.Caller);
                foreach (Edge edge in own is not null ? [own] : candidates.FindAll(e => e.From.Contains('*', StringComparison.Ordinal)))
                {
                    edge.Allowed++;
                }

                continue;
            }

            Edge? target = _edges.Find(e => e.Kind == EdgeKind.Client && e.From == audit.Caller && e.To == to)
                ?? _edges.Find(e => e.Kind == EdgeKind.Deny && e.From == audit.Caller && e.To == to)
                ?? _edges.Find(e => e.Kind == EdgeKind.Allow && e.From == audit.Caller && e.To == to)
                ?? EdgeOf(audit.Caller, to, EdgeKind.Observed);
            target.Denied++;
        }

        foreach (Edge edge in _edges)
        {
            edge.Observed = true;
            if (edge.Kind == EdgeKind.Allow && edge.Allowed == 0)
            {
                _notes.Add($"unused: {edge.From} -> {edge.To} ({string.Join(", ", edge.Rules)}) allowed no observed call; a candidate to remove.");
            }
        }
    }

    /// <summary>A Mermaid <c>flowchart LR</c>.</summary>
    public string ToMermaid()
    {
        var text = new System.Text.StringBuilder();
        text.Append("flowchart LR\n");
        List<string> nodes = Nodes();
        foreach (string node in nodes)
        {
            text.Append(CultureInfo.InvariantCulture, $"  {NodeId(node)}[\"{Mermaid(NodeLabel(node))}\"]\n");
        }

        var styles = new List<string>();
        for (int i = 0; i < _edges.Count; i++)
        {
            Edge edge = _edges[i];
            string arrow = edge.Kind switch
            {
                EdgeKind.Allow => "-->",
                EdgeKind.Deny => "-.-x",
                _ => "-.->",
            };
            text.Append(CultureInfo.InvariantCulture, $"  {NodeId(edge.From)} {arrow}|\"{Mermaid(string.Join("<br/>", edge.Describe()))}\"| {NodeId(edge.To)}\n");
            if (edge.Color() is { } color)
            {
                styles.Add($"  linkStyle {i} stroke:{color},color:{color}\n");
            }
        }

        styles.ForEach(s => text.Append(s));
        List<string> services = nodes.FindAll(n => _services.Exists(s => s.Id.ToString() == n));
        if (services.Count > 0)
        {
            text.Append("  classDef service fill:#e8f0fe,stroke:#3367d6\n");
            text.Append(CultureInfo.InvariantCulture, $"  class {string.Join(',', services.Select(NodeId))} service\n");
        }

        return text.ToString();
    }

    /// <summary>A Graphviz <c>digraph</c>.</summary>
    public string ToDot()
    {
        var text = new System.Text.StringBuilder();
        text.Append("digraph policy {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n");
        foreach (string node in Nodes())
        {
            bool service = _services.Exists(s => s.Id.ToString() == node);
            text.Append(CultureInfo.InvariantCulture, $"  \"{Dot(node)}\" [label=\"{Dot(NodeLabel(node))}\"{(service ? ", style=\"rounded,filled\", fillcolor=\"#e8f0fe\"" : string.Empty)}];\n");
        }

        foreach (Edge edge in _edges)
        {
            var attributes = new List<string> { $"label=\"{Dot(string.Join("\n", edge.Describe()))}\"" };
            if (edge.Kind != EdgeKind.Allow)
            {
                attributes.Add("style=dashed");
            }

            if (edge.Kind == EdgeKind.Deny)
            {
                attributes.Add("arrowhead=tee");
            }

            if (edge.Color() is { } color)
            {
                attributes.Add($"color=\"{color}\", fontcolor=\"{color}\"");
            }

            text.Append(CultureInfo.InvariantCulture, $"  \"{Dot(edge.From)}\" -> \"{Dot(edge.To)}\" [{string.Join(", ", attributes)}];\n");
        }

        text.Append("}\n");
        return text.ToString();
    }

    private Edge EdgeOf(string from, string to, EdgeKind kind)
    {
        Edge? edge = _edges.Find(e => e.From == from && e.To == to && e.Kind == kind);
        if (edge is null)
        {
            edge = new Edge(from, to, kind);
            _edges.Add(edge);
        }

        return edge;
    }

    private List<string> Nodes()
    {
        var nodes = new List<string>();
        foreach (string node in _services.Select(s => s.Id.ToString()).Concat(_edges.SelectMany(e => new[] { e.From, e.To })))
        {
            if (!nodes.Contains(node))
            {
                nodes.Add(node);
            }
        }

        return nodes;
    }

    private static string NodeLabel(string node) => node == "*" ? "any trusted caller (*)" : node;

    private static string NodeId(string node)
    {
        string text = node.StartsWith("spiffe://", StringComparison.Ordinal) ? node["spiffe://".Length..] : node;
        var id = new System.Text.StringBuilder(text.Length);
        foreach (char c in text)
        {
            id.Append(char.IsAsciiLetterOrDigit(c) ? c : c == '*' ? "ANY" : "_");
        }

        return id.ToString();
    }

    private static string Mermaid(string text) => text.Replace("\"", "#quot;", StringComparison.Ordinal);

    private static string Dot(string text) => text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private sealed class Edge(string from, string to, EdgeKind kind)
    {
        public string From { get; } = from;

        public string To { get; } = to;

        public EdgeKind Kind { get; } = kind;

        public List<string> Labels { get; } = [];

        public HashSet<string> Rules { get; } = new(StringComparer.Ordinal);

        public string? Problem { get; set; }

        public bool Observed { get; set; }

        public int Allowed { get; set; }

        public int Denied { get; set; }

        public List<string> Describe()
        {
            var lines = new List<string>(Labels);
            if (Kind == EdgeKind.Observed)
            {
                lines.Add("no rule names this caller");
            }

            if (Problem is not null)
            {
                lines.Add("problem: " + Problem);
            }

            if (Observed)
            {
                if (Kind == EdgeKind.Allow)
                {
                    lines.Add(Allowed == 0 ? "0 calls observed: candidate to remove" : $"observed: {Allowed} allowed{(Denied > 0 ? $", {Denied} denied" : string.Empty)}");
                }
                else if (Denied > 0)
                {
                    lines.Add($"observed: {Denied} denied");
                }
            }

            return lines;
        }

        public string? Color() => Kind switch
        {
            EdgeKind.Deny or EdgeKind.Observed => "#c5221f",
            _ when Problem is not null => "#e37400",
            EdgeKind.Allow when Observed && Allowed == 0 => "#e37400",
            EdgeKind.Client => "#5f6368",
            _ => null,
        };
    }
}
