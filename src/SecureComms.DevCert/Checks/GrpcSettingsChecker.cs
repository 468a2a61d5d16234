using Microsoft.Extensions.Configuration;

namespace SecureComms.DevCert;

/// <summary>
/// The gRPC settings of a SecureComms service or client. A gRPC call is an HTTP/2 POST to <c>/package.Service/Method</c>
/// (gRPC over HTTP/2, "Requests": <c>:method POST</c>, <c>:path "/" Service-Name "/" {method name}</c>), so central rules
/// name gRPC methods by that path. SecureComms serves it on its https listeners (<c>SecureComms:Server:Urls</c>), which
/// it always opens for HTTP/1.1 and HTTP/2 over TLS, and never on its plaintext endpoints, which it opens for HTTP/1.1
/// only; Kestrel's own <c>Kestrel:Endpoints</c> keep the protocols Kestrel's configuration gives them.
/// </summary>
internal static class GrpcSettingsChecker
{
    private const string GrpcPathShape = "a gRPC call's path is '/package.Service/Method'";

    public static void Check(IConfiguration configuration, IConfigurationSection secureComms, List<Finding> findings)
    {
        bool servesGrpc = CheckRulePaths(secureComms.GetSection("Authorization:Rules"), findings);
        if (servesGrpc)
        {
            CheckPlaintextEndpoints(secureComms.GetSection("Server:PlaintextEndpoints"), findings);
            CheckKestrelProtocols(configuration.GetSection("Kestrel"), findings);
        }

        CheckClientAddresses(secureComms.GetSection("Clients"), findings);
    }

    /// <summary>Checks the shape of every rule path that names a gRPC service; true when one does.</summary>
    private static bool CheckRulePaths(IConfigurationSection rules, List<Finding> findings)
    {
        bool any = false;
        foreach (IConfigurationSection rule in rules.GetChildren())
        {
            string name = rule["Name"] ?? $"rule-{rule.Key}";
            string? grpcPath = null;
            foreach (IConfigurationSection path in rule.GetSection("Paths").GetChildren())
            {
                if (path.Value is not { } value || !TryGetGrpcService(value, out string service))
                {
                    continue;
                }

                any = true;
                grpcPath ??= value;
                if (DescribeShapeProblem(path.Path, value, service) is { } problem)
                {
                    findings.Add(problem);
                }
            }

            // The central policy matches Methods case-insensitively against the request's method; gRPC's is POST.
            var methods = rule.GetSection("Methods").GetChildren().Select(m => m.Value?.Trim()).Where(m => !string.IsNullOrEmpty(m)).ToList();
            if (grpcPath is not null && methods.Count > 0 && !methods.Exists(m => string.Equals(m, "POST", StringComparison.OrdinalIgnoreCase)))
            {
                findings.Add(new(
                    Severity.Warning,
                    rule.Path + ":Methods",
                    $"'{string.Join(", ", methods)}' leaves out POST: gRPC calls are HTTP/2 POSTs, so rule '{name}' never matches a call to '{grpcPath}'; list POST or no method."));
            }
        }

        return any;
    }

    /// <summary>What is wrong with a rule path that names a gRPC service, or null when it matches gRPC calls as meant.</summary>
    private static Finding? DescribeShapeProblem(string key, string path, string service)
    {
        string[] segments = path[1..].Split('/');
        foreach (string segment in segments)
        {
            if (segment.Contains('*', StringComparison.Ordinal) && segment != "*")
            {
                return new(
                    Severity.Serious,
                    key,
                    $"'{path}' has '*' inside a segment, which start-up refuses ('*' stands for one whole segment): {GrpcPathShape}, and '/{ServiceOrPlaceholder(service)}/*' opens every method of a service.");
            }
        }

        // '/a/b/*' is a prefix: '/a/b' and below. A trailing '/' is dropped, as the central policy drops it.
        bool prefix = path.EndsWith("/*", StringComparison.Ordinal) && path.Length > 2;
        string literal = prefix ? path[..^2] : path.TrimEnd('/');
        int count = literal.Length <= 1 ? 0 : literal[1..].Split('/').Length;
        if (count == 1 && !prefix)
        {
            return new(
                Severity.Warning,
                key,
                $"'{path}' names the gRPC service '{service}' without a method, so it matches no call: {GrpcPathShape}; write '/{service}/*' for every method of the service or '/{service}/Method' for one.");
        }

        if (count > 2)
        {
            return new(
                Severity.Warning,
                key,
                $"'{path}' has more segments than a gRPC method path, so it matches no call to '{service}': {GrpcPathShape}; write '/{service}/Method', or '/{service}/*' for every method.");
        }

        return null;
    }

    private static string ServiceOrPlaceholder(string service) => service.Contains('*', StringComparison.Ordinal) ? "package.Service" : service;

    /// <summary>
    /// Whether a rule path's first segment is a package-qualified gRPC service name (<c>billing.v1.Invoices</c>): dotted
    /// identifiers whose last part starts with a capital letter, as the protobuf style guide names services; with a
    /// '*' in it, a second segment that looks like a method name or '*'. File names such as <c>/favicon.ico</c> do not
    /// qualify, nor does a service without a package (it cannot be told apart from an HTTP path).
    /// </summary>
    private static bool TryGetGrpcService(string path, out string service)
    {
        service = string.Empty;
        if (path.Length < 2 || path[0] != '/')
        {
            return false;
        }

        string[] segments = path[1..].Split('/');
        string first = segments[0];
        string[] parts = first.Split('.');
        if (parts.Length < 2)
        {
            return false;
        }

        foreach (string part in parts)
        {
            if (part.Length == 0 || !(char.IsAsciiLetter(part[0]) || part[0] is '_' or '*'))
            {
                return false;
            }

            foreach (char c in part)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '*'))
                {
                    return false;
                }
            }
        }

        string last = parts[^1];
        bool looksLikeService = char.IsAsciiLetterUpper(last[0])
            || (last.Contains('*', StringComparison.Ordinal) && segments.Length > 1 && segments[1].Length > 0 && (char.IsAsciiLetterUpper(segments[1][0]) || segments[1][0] == '*'));
        if (!looksLikeService)
        {
            return false;
        }

        service = first;
        return true;
    }

    /// <summary>SecureComms opens its plaintext endpoints for HTTP/1.1 only (KestrelMtlsSetup): no gRPC there.</summary>
    private static void CheckPlaintextEndpoints(IConfigurationSection endpoints, List<Finding> findings)
    {
        foreach (IConfigurationSection endpoint in endpoints.GetChildren())
        {
            findings.Add(new(
                Severity.Warning,
                endpoint.Path,
                "is HTTP/1.1 only (SecureComms opens plaintext listeners without HTTP/2), so the gRPC methods the rules name cannot be called there, by a proxy forwarding client certificates or by a gRPC health probe either; gRPC is served on SecureComms:Server:Urls (HTTP/1.1 and HTTP/2 over TLS)."));
        }
    }

    /// <summary>
    /// Kestrel's protocol settings. SecureComms' own listeners set HTTP/1.1 and HTTP/2 after Kestrel applies
    /// <c>EndpointDefaults</c>, so those defaults reach only Kestrel's own <c>Kestrel:Endpoints</c> that set no
    /// <c>Protocols</c> of their own.
    /// </summary>
    private static void CheckKestrelProtocols(IConfigurationSection kestrel, List<Finding> findings)
    {
        IConfigurationSection defaults = kestrel.GetSection("EndpointDefaults:Protocols");
        bool defaultsLackHttp2 = defaults.Value is { } defaultProtocols && LacksHttp2(defaultProtocols);
        if (defaultsLackHttp2)
        {
            findings.Add(new(
                Severity.Info,
                defaults.Path,
                $"'{defaults.Value}' does not reach SecureComms' listeners (SecureComms:Server:Urls are always HTTP/1.1 and HTTP/2 over TLS, so gRPC is served there); only Kestrel:Endpoints without Protocols of their own take it."));
        }

        foreach (IConfigurationSection endpoint in kestrel.GetSection("Endpoints").GetChildren())
        {
            string? own = endpoint["Protocols"];
            if (own is not null ? LacksHttp2(own) : defaultsLackHttp2)
            {
                findings.Add(new(
                    Severity.Warning,
                    own is not null ? endpoint.Path + ":Protocols" : endpoint.Path,
                    $"{(own is not null ? $"is '{own}'" : $"takes Protocols '{defaults.Value}' from {defaults.Path}")}: without HTTP/2 the gRPC methods the rules name fail on this listener (Kestrel's own, outside SecureComms:Server:Urls); gRPC needs HTTP/2."));
            }
        }
    }

    /// <summary>Kestrel's <c>HttpProtocols</c> names, read as Kestrel reads them (case-insensitive, flags joined by ',').</summary>
    private static bool LacksHttp2(string protocols)
    {
        bool known = false;
        foreach (string name in protocols.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (name.Equals("Http2", StringComparison.OrdinalIgnoreCase)
                || name.Equals("Http1AndHttp2", StringComparison.OrdinalIgnoreCase)
                || name.Equals("Http1AndHttp2AndHttp3", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            known |= name.Equals("Http1", StringComparison.OrdinalIgnoreCase)
                || name.Equals("Http3", StringComparison.OrdinalIgnoreCase)
                || name.Equals("None", StringComparison.OrdinalIgnoreCase);
        }

        return known; // an unknown value is Kestrel's to refuse
    }

    /// <summary>
    /// Grpc.Net.Client sends every call to <c>/package.Service/Method</c> at the root of its address: it replaces the
    /// address's path (GrpcChannel builds the call's URI with the method's full name as its path).
    /// </summary>
    private static void CheckClientAddresses(IConfigurationSection clients, List<Finding> findings)
    {
        foreach (IConfigurationSection client in clients.GetChildren())
        {
            if (Uri.TryCreate(client["BaseAddress"], UriKind.Absolute, out Uri? address)
                && address.Scheme == Uri.UriSchemeHttps
                && address.AbsolutePath.Length > 1)
            {
                findings.Add(new(
                    Severity.Info,
                    client.Path + ":BaseAddress",
                    $"has a path ('{address.AbsolutePath}'): a gRPC client made from this client (AddGrpcClient) drops it and calls '/package.Service/Method' at the root of {address.GetLeftPart(UriPartial.Authority)}; an HttpClient's relative requests keep it."));
            }
        }
    }
}
