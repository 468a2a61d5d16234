using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;

namespace SecureComms.DevCert;

/// <summary>
/// Reads the <c>SecureComms</c> section of a service's configuration and lists its insecure settings. It reads keys as
/// written (the README's configuration reference), so it also works on settings the running service would refuse.
/// </summary>
internal sealed class ConfigurationChecker(string baseDirectory, TimeProvider timeProvider, TimeSpan maxCertificateLifetime)
{
    private const string Root = "SecureComms";

    public List<Finding> Check(IConfiguration configuration)
    {
        var findings = new List<Finding>();
        IConfigurationSection section = configuration.GetSection(Root);
        if (!section.Exists())
        {
            findings.Add(new(Severity.Serious, Root, "is missing: the service has no mutual TLS, identity or authorization configuration."));
            return findings;
        }

        CheckTokenValidation(section.GetSection("TokenValidation"), findings);
        CheckServerCaBundle(section.GetSection("TokenValidation"), findings);
        CheckAuthorization(section.GetSection("Authorization"), findings);
        CheckServer(section.GetSection("Server"), findings);
        CheckClients(section.GetSection("Clients"), findings);
        CheckCertificate(section, findings);
        GrpcSettingsChecker.Check(configuration, section, findings);
        return findings;
    }

    private static void CheckTokenValidation(IConfigurationSection tokens, List<Finding> findings)
    {
        string key = tokens.Path;
        string? authority = tokens["Authority"];
        if (string.IsNullOrWhiteSpace(authority))
        {
            findings.Add(new(Severity.Warning, key + ":Authority", "is not set: access tokens are not checked; callers are authorized by their certificate alone."));
        }
        else if (IsPlaintext(authority))
        {
            findings.Add(new(Severity.Serious, key + ":Authority", $"is plaintext ({authority}): the signing keys can be replaced in transit."));
        }

        if (IsFalse(tokens["RequireCertificateBinding"]))
        {
            findings.Add(new(Severity.Serious, key + ":RequireCertificateBinding", "is false: tokens are not bound to the caller's certificate (RFC 8705 §3), so a stolen token works from any workload."));
        }

        if (IsFalse(tokens["RequireAccessTokenType"]))
        {
            findings.Add(new(Severity.Warning, key + ":RequireAccessTokenType", "is false: any JWT of the issuer, e.g. an ID token, is accepted as an access token (RFC 9068 §4)."));
        }

        foreach (IConfigurationSection algorithm in tokens.GetSection("Algorithms").GetChildren())
        {
            string? name = algorithm.Value?.Trim();
            if (string.Equals(name, "none", StringComparison.OrdinalIgnoreCase) || (name?.StartsWith("HS", StringComparison.OrdinalIgnoreCase) ?? false))
            {
                findings.Add(new(Severity.Serious, algorithm.Path, $"is '{name}': unsigned or shared-secret tokens can be forged (start-up refuses it)."));
            }
        }
    }

    private static void CheckAuthorization(IConfigurationSection authorization, List<Finding> findings)
    {
        if (IsTrue(authorization["DryRun"]))
        {
            findings.Add(new(Severity.Serious, authorization.Path + ":DryRun", "is true: the central policy only logs what it would deny; nothing is enforced by it."));
        }

        foreach (IConfigurationSection rule in authorization.GetSection("Rules").GetChildren())
        {
            string action = rule["Action"] ?? "Allow";
            if (!string.Equals(action, "Allow", StringComparison.OrdinalIgnoreCase))
            {
                continue; // Deny and Audit rules never open anything
            }

            string name = rule["Name"] ?? $"rule-{rule.Key}";
            bool narrowedByToken = rule.GetSection("Scopes").GetChildren().Any() || rule.GetSection("Claims").GetChildren().Any();
            bool everyPath = rule.GetSection("Paths").GetChildren().Any(p => p.Value?.Trim() is "/*");
            foreach (IConfigurationSection caller in rule.GetSection("Callers").GetChildren())
            {
                string? broad = DescribeBroadCaller(caller.Value);
                if (broad is null)
                {
                    continue;
                }

                if (everyPath)
                {
                    findings.Add(new(
                        narrowedByToken ? Severity.Warning : Severity.Serious,
                        caller.Path,
                        $"'{caller.Value}' with path '/*': rule '{name}' allows {broad} on every path{(narrowedByToken ? ", narrowed only by token scopes or claims" : string.Empty)}; name the callers and paths it needs."));
                }
                else if (caller.Value!.Trim() == "*")
                {
                    findings.Add(new(Severity.Warning, caller.Path, $"'*': rule '{name}' allows {broad}; name the callers it needs."));
                }
            }
        }
    }

    private static void CheckServer(IConfigurationSection server, List<Finding> findings)
    {
        foreach (IConfigurationSection url in server.GetSection("Urls").GetChildren())
        {
            if (IsPlaintext(url.Value))
            {
                findings.Add(new(Severity.Serious, url.Path, $"is plaintext ({url.Value}): callers are not authenticated (start-up refuses it; use PlaintextEndpoints on purpose)."));
            }
        }

        bool hasPlaintextEndpoint = false;
        foreach (IConfigurationSection endpoint in server.GetSection("PlaintextEndpoints").GetChildren())
        {
            hasPlaintextEndpoint = true;
            string url = endpoint["Url"] ?? "(no Url)";
            findings.Add(new(Severity.Warning, endpoint.Path, $"opens a plaintext listener ({url}): only AllowAnonymous endpoints and identities forwarded by trusted proxies answer there; keep it on loopback or an internal interface."));
        }

        foreach (IConfigurationSection proxy in server.GetSection("ForwardedCertificates:TrustedProxies").GetChildren())
        {
            string? value = proxy.Value?.Trim();
            if (value is "*" or "0.0.0.0/0" or "::/0")
            {
                findings.Add(new(Severity.Serious, proxy.Path, $"is '{proxy.Value}': anyone may forward a client certificate header and claim any identity."));
            }
            else if (hasPlaintextEndpoint && value is not null && !value.StartsWith("spiffe://", StringComparison.Ordinal))
            {
                findings.Add(new(Severity.Warning, proxy.Path, $"trusts '{value}' by address on the plaintext listener: anything that reaches that port from there can claim any workload identity; make the port reachable only from the proxy."));
            }
        }
    }

    private void CheckClients(IConfigurationSection clients, List<Finding> findings)
    {
        foreach (IConfigurationSection client in clients.GetChildren())
        {
            string? baseAddress = client["BaseAddress"];
            if (IsPlaintext(baseAddress))
            {
                findings.Add(new(Severity.Serious, client.Path + ":BaseAddress", $"is plaintext ({baseAddress}): the server is not authenticated and the call is not encrypted."));
            }
            else if (!string.IsNullOrWhiteSpace(baseAddress) && !(Uri.TryCreate(baseAddress, UriKind.Absolute, out Uri? address) && address.Scheme == Uri.UriSchemeHttps))
            {
                // e.g. a gRPC-style 'dns:///billing:8443' or a bare 'billing:8443' (read as the URI scheme 'billing').
                findings.Add(new(Severity.Serious, client.Path + ":BaseAddress", $"'{baseAddress}' is not an absolute https:// address, which a SecureComms client (a gRPC one too) needs (start-up refuses it)."));
            }

            if (client["ExpectedServer"]?.Trim() == "*")
            {
                findings.Add(new(Severity.Warning, client.Path + ":ExpectedServer", "is '*': any server of any trusted trust domain is accepted; name the server's SPIFFE ID."));
            }

            IConfigurationSection token = client.GetSection("Token");
            CheckServerCaBundle(token, findings);
            if (IsFalse(token["RequireBoundToken"]))
            {
                findings.Add(new(Severity.Serious, token.Path + ":RequireBoundToken", "is false: access tokens not bound to this workload's certificate are sent (RFC 8705 §3); a leaked token is usable by anyone."));
            }

            foreach (string endpoint in (string[])["Authority", "TokenEndpoint"])
            {
                if (IsPlaintext(token[endpoint]))
                {
                    findings.Add(new(Severity.Serious, token.Path + ":" + endpoint, $"is plaintext ({token[endpoint]}): client credentials and tokens travel unencrypted."));
                }
            }
        }
    }

    private void CheckCertificate(IConfigurationSection secureComms, List<Finding> findings)
    {
        IConfigurationSection certificate = secureComms.GetSection("Certificate");
        string? certificatePath = certificate["CertificatePath"];
        if (string.IsNullOrWhiteSpace(certificatePath))
        {
            if (certificate["Pkcs12Path"] is not null || certificate["StoreThumbprint"] is not null)
            {
                findings.Add(new(Severity.Info, certificate.Path, "is a PKCS#12 file or a store certificate: its lifetime is not checked here (only CertificatePath is)."));
            }

            return;
        }

        string key = certificate.Path + ":CertificatePath";
        string fullPath = Resolve(certificatePath);
        CertificateFile file;
        try
        {
            file = CertificateFile.Read(fullPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            findings.Add(new(Severity.Serious, key, $"'{fullPath}' cannot be read: {ex.Message}"));
            return;
        }

        using (file)
        {
            DateTimeOffset now = timeProvider.GetUtcNow();
            var notBefore = new DateTimeOffset(file.Leaf.NotBefore.ToUniversalTime());
            var notAfter = new DateTimeOffset(file.Leaf.NotAfter.ToUniversalTime());
            TimeSpan lifetime = notAfter - notBefore;
            if (now > notAfter)
            {
                findings.Add(new(Severity.Serious, key, $"'{certificatePath}' expired at {Durations.FormatInstant(notAfter)} ({Durations.Format(now - notAfter)} ago): peers refuse it."));
            }
            else if (now < notBefore)
            {
                findings.Add(new(Severity.Warning, key, $"'{certificatePath}' is not valid before {Durations.FormatInstant(notBefore)}: peers refuse it until then."));
            }

            if (lifetime > maxCertificateLifetime)
            {
                findings.Add(new(
                    Severity.Warning,
                    key,
                    $"'{certificatePath}' is valid for {Durations.Format(lifetime)}, longer than {Durations.Format(maxCertificateLifetime)}: SVIDs are never revoked, so a stolen key stays usable that long; issue short-lived ones and rotate them."));
            }

            CheckSvid(secureComms, file, key, certificatePath, findings);
        }

        string? keyPath = certificate["KeyPath"];
        if (!string.IsNullOrWhiteSpace(keyPath) && !OperatingSystem.IsWindows() && File.Exists(Resolve(keyPath)))
        {
            UnixFileMode mode = File.GetUnixFileMode(Resolve(keyPath));
            const UnixFileMode others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;
            if ((mode & others) != 0)
            {
                findings.Add(new(Severity.Warning, certificate.Path + ":KeyPath", $"'{keyPath}' has mode {OutputFiles.ToOctal(mode)}: the private key is readable by other users; make it 0600."));
            }
        }
    }

    /// <summary>Asks the library's validator whether the service's own certificate is an SVID its configured bundle trusts.</summary>
    private void CheckSvid(IConfigurationSection secureComms, CertificateFile file, string key, string certificatePath, List<Finding> findings)
    {
        var bundles = new List<TrustBundle>();
        foreach (IConfigurationSection bundle in secureComms.GetSection("TrustBundles").GetChildren())
        {
            string? path = bundle["Path"];
            if (string.IsNullOrWhiteSpace(path) || !TrustDomain.TryParse(bundle.Key, out TrustDomain trustDomain))
            {
                continue; // start-up reports these
            }

            TrustBundleFormat format = string.Equals(bundle["Format"], "SpiffeBundle", StringComparison.OrdinalIgnoreCase)
                ? TrustBundleFormat.SpiffeBundle
                : TrustBundleFormat.Pem;
            try
            {
                bundles.Add(DevelopmentCertificateAuthority.LoadTrustBundle(trustDomain, Resolve(path), format));
            }
            catch (InvalidDataException ex)
            {
                findings.Add(new(Severity.Serious, bundle.Path + ":Path", $"cannot be used: {ex.Message}"));
            }
        }

        using var source = new InMemoryTrustBundleSource(new TrustBundleSet(bundles));
        foreach (PeerSide side in (PeerSide[])[PeerSide.Server, PeerSide.Client])
        {
            SvidValidationResult result = DevelopmentCertificateAuthority.ValidateSvid(file.Leaf, file.Intermediates, source, side, timeProvider);
            if (!result.IsValid && result.Failure is not (SvidValidationFailure.Expired or SvidValidationFailure.NotYetValid))
            {
                // Expiry is reported above already; anything else means peers refuse this certificate.
                findings.Add(new(Severity.Serious, key, $"'{certificatePath}' is not a valid X.509-SVID as a {side.ToString().ToLowerInvariant()}: {result.Failure}: {result.Detail}"));
                return;
            }
        }
    }

    /// <summary>
    /// <c>ServerCaBundlePath</c> (token, metadata and JWKS calls to an authorization server with an internal CA's
    /// certificate): the file must exist and hold PEM certificates that are valid now; the CAs it trusts are reported.
    /// </summary>
    private void CheckServerCaBundle(IConfigurationSection section, List<Finding> findings)
    {
        string? path = section["ServerCaBundlePath"];
        if (path is null)
        {
            return;
        }

        string key = section.Path + ":ServerCaBundlePath";
        if (!string.IsNullOrWhiteSpace(section["ExpectedServer"]))
        {
            findings.Add(new(Severity.Serious, key, "is set together with ExpectedServer: the authorization server is either a SPIFFE workload or an HTTPS server of an internal CA (start-up refuses it)."));
        }

        string fullPath = Resolve(path);
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPemFile(fullPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            findings.Add(new(Severity.Serious, key, $"'{fullPath}' cannot be used: {ex.Message} (start-up refuses it)."));
            return;
        }

        if (certificates.Count == 0)
        {
            findings.Add(new(Severity.Serious, key, $"'{fullPath}' holds no PEM certificate (start-up refuses it)."));
            return;
        }

        DateTimeOffset now = timeProvider.GetUtcNow();
        var trusted = new List<string>();
        foreach (X509Certificate2 certificate in certificates)
        {
            using (certificate)
            {
                var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
                if (notAfter < now)
                {
                    findings.Add(new(Severity.Serious, key, $"'{path}': the CA '{certificate.Subject}' expired at {Durations.FormatInstant(notAfter)}: no server certificate chains to it."));
                }

                trusted.Add($"'{certificate.Subject}' until {Durations.FormatInstant(notAfter)}");
            }
        }

        findings.Add(new(Severity.Info, key, $"'{path}': the authorization server is trusted if its certificate chains to {string.Join(", ", trusted)} and names the host of its URL (not the system store)."));
    }

    private string Resolve(string path) => Path.GetFullPath(Path.Combine(baseDirectory, path));

    /// <summary>Who a caller pattern lets in when it is broader than a workload or a prefix; null otherwise.</summary>
    private static string? DescribeBroadCaller(string? pattern)
    {
        string? value = pattern?.Trim();
        if (value == "*")
        {
            return "every caller of every trusted trust domain";
        }

        if (value is not null && value.EndsWith("/*", StringComparison.Ordinal)
            && SpiffeId.TryParse(value[..^2], out SpiffeId id) && id.IsTrustDomainId)
        {
            return $"every caller of {id}";
        }

        return null;
    }

    private static bool IsPlaintext(string? url) => url is not null && url.TrimStart().StartsWith("http://", StringComparison.OrdinalIgnoreCase);

    private static bool IsFalse(string? value) => bool.TryParse(value, out bool parsed) && !parsed;

    private static bool IsTrue(string? value) => bool.TryParse(value, out bool parsed) && parsed;
}
