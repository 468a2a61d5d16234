using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureComms.AspNetCore.Tests.Infrastructure;

namespace SecureComms.AspNetCore.Tests.Fuzzing;

/// <summary>
/// A bounded network fuzz: mutations of a valid certificate-bound token and of valid forwarded-certificate headers
/// (RFC 9440 <c>Client-Cert</c>, Envoy's XFCC, nginx's escaped PEM), sent over real TLS and real keep-alive connections
/// to real Kestrel. Every answer must be a refusal (400, 401 with an RFC 6750 challenge, 403 or 431), never a 500 and
/// never a 200, within a per-request timeout, and the servers must log no error. A mutation that is the valid input
/// again, byte for byte after decoding, may get its 200 and is counted apart.
/// </summary>
/// <remarks>
/// Seed and size: <c>SECURECOMMS_FUZZ_SEED</c> (default 22) and <c>SECURECOMMS_NETWORK_FUZZ_INPUTS</c> (default
/// 4,000). Input <c>i</c> is drawn from its own <see cref="Random"/> seeded from both, so a failing input is reproduced
/// by its seed and index alone, whatever the parallelism.
/// </remarks>
[TestClass]
public sealed partial class NetworkFuzzTests
{
    private const string Audience = "https://billing.example.org";
    private const int DefaultSeed = 22;
    private const int DefaultInputs = 4_000;
    private const int Parallelism = 8;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);
    private static readonly int[] Refusals = [400, 401, 403, 431];

    private static readonly string[] TokenKinds =
        ["BitFlip", "Insert", "Delete", "Truncate", "DuplicateSegment", "AlphabetSwap", "Huge", "ControlCharacter", "Scheme", "MultipleAuthorization", "JsonEdit", "Stacked"];

    private static readonly string[] ForwardedKinds =
        ["BitFlip", "Insert", "Delete", "Truncate", "DuplicateSegment", "AlphabetSwap", "Huge", "ControlCharacter", "OtherCertificate", "MultipleHeaders", "Stacked"];

    public TestContext TestContext { get; set; } = null!;

    private enum Target
    {
        Direct,
        ClientCert,
        Xfcc,
        Nginx,
    }

    [TestMethod]
    public async Task NetworkFuzz_MutatedTokensAndForwardedHeaders_AreRefusedWith400_401_403_Or431_NeverA500OrA200()
    {
        int seed = FromEnvironment("SECURECOMMS_FUZZ_SEED", DefaultSeed);
        int inputs = FromEnvironment("SECURECOMMS_NETWORK_FUZZ_INPUTS", DefaultInputs);
        Report($"network fuzz: seed {seed} (SECURECOMMS_FUZZ_SEED), {inputs} inputs (SECURECOMMS_NETWORK_FUZZ_INPUTS), {Parallelism} in parallel");

        WorkloadCertificate orders = TestPki.Issue(TestPki.Orders);
        await using TestIssuer issuer = await TestIssuer.StartAsync();
        var fixture = new Fixture(
            orders,
            TestPki.Issue(TestPki.Analytics),
            TestPki.RogueCa.IssueSvid(TestPki.Orders),
            TestPki.OtherDomainCa.IssueSvid(SpiffeId.Parse($"spiffe://{TestPki.OtherDomainCa.TrustDomain.Name}/orders")),
            issuer.Mint(Audience, orders, expires: DateTime.UtcNow.AddHours(1)));
        var hosts = new Dictionary<ForwardedCertificateHeaderFormat, SecureServiceHost>();
        try
        {
            foreach (ForwardedCertificateHeaderFormat format in Enum.GetValues<ForwardedCertificateHeaderFormat>())
            {
                hosts[format] = await StartServiceAsync(issuer, format);
            }

            using HttpClient direct = new(MtlsHandler(orders.Certificate)) { Timeout = Timeout.InfiniteTimeSpan };
            using HttpClient plaintext = new(new SocketsHttpHandler { MaxConnectionsPerServer = Parallelism }) { Timeout = Timeout.InfiniteTimeSpan };
            var targets = new Dictionary<Target, (HttpClient Client, Uri Address)>
            {
                [Target.Direct] = (direct, new Uri(hosts[ForwardedCertificateHeaderFormat.ClientCert].BaseAddress, "/invoices")),
                [Target.ClientCert] = (plaintext, PlaintextInvoices(hosts[ForwardedCertificateHeaderFormat.ClientCert])),
                [Target.Xfcc] = (plaintext, PlaintextInvoices(hosts[ForwardedCertificateHeaderFormat.EnvoyXfcc])),
                [Target.Nginx] = (plaintext, PlaintextInvoices(hosts[ForwardedCertificateHeaderFormat.NginxEscapedPem])),
            };

            await AssertValidInputsGet200Async(fixture, targets, "before the run");

            var statuses = new ConcurrentDictionary<string, int>();
            var byKind = new ConcurrentDictionary<string, ConcurrentDictionary<string, int>>();
            var failures = new ConcurrentQueue<string>();
            int skipped = 0;
            var clock = Stopwatch.StartNew();
            await Parallel.ForEachAsync(Enumerable.Range(0, inputs), new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (index, _) =>
            {
                var random = new Random(unchecked((seed * 1_000_003) ^ index));
                FuzzCase input = fixture.Next(random);
                if (input.IsValidInput)
                {
                    Interlocked.Increment(ref skipped);
                    return;
                }

                (HttpClient client, Uri address) = targets[input.Target];
                string outcome = await SendAsync(client, address, input, fixture);
                string label = $"{input.Target}/{input.Kind}";
                statuses.AddOrUpdate(outcome, 1, (_, n) => n + 1);
                byKind.GetOrAdd(label, _ => new ConcurrentDictionary<string, int>()).AddOrUpdate(outcome, 1, (_, n) => n + 1);
                if (!IsAcceptable(outcome))
                {
                    failures.Enqueue($"input {index} (seed {seed}) {label}: {outcome}; {input.Describe()}");
                }
            });
            clock.Stop();

            await AssertValidInputsGet200Async(fixture, targets, "after the run");

            Report($"{inputs - skipped} requests in {clock.Elapsed.TotalSeconds:F1} s ({skipped} mutations equal to the valid input skipped)");
            Report("by status: " + string.Join(", ", statuses.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}: {s.Value}")));
            foreach (KeyValuePair<string, ConcurrentDictionary<string, int>> kind in byKind.OrderBy(k => k.Key, StringComparer.Ordinal))
            {
                Report($"  {kind.Key,-34} " + string.Join(", ", kind.Value.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}: {s.Value}")));
            }

            List<string> errors = [.. hosts.Values.SelectMany(h => h.Logs.GetSnapshot())
                .Where(r => r.Level >= LogLevel.Error)
                .Select(r => $"{r.Level} {r.Category} {r.Id}: {r.Message} {r.Exception?.GetType().Name}")];
            Assert.IsEmpty(failures, $"{failures.Count} inputs were not refused as they should be:\n" + string.Join("\n", failures.Take(20)));
            Assert.IsEmpty(errors, "the servers logged errors:\n" + string.Join("\n", errors.Distinct().Take(20)));
        }
        finally
        {
            foreach (SecureServiceHost host in hosts.Values)
            {
                await host.DisposeAsync();
            }
        }
    }

    private static bool IsAcceptable(string outcome) =>
        outcome == "200 (equivalent input)" || Refusals.Any(code => outcome == code.ToString(CultureInfo.InvariantCulture));

    private static async Task<string> SendAsync(HttpClient client, Uri address, FuzzCase input, Fixture fixture)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, address);
        foreach ((string name, string value) in input.Headers)
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                return "not sendable";
            }
        }

        using var timeout = new CancellationTokenSource(RequestTimeout);
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, timeout.Token);
        }
        catch (OperationCanceledException)
        {
            return "no answer within " + RequestTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture) + " s";
        }
        catch (HttpRequestException e)
        {
            return $"{e.GetType().Name}: {e.Message} {e.InnerException?.Message}";
        }

        using (response)
        {
            await response.Content.LoadIntoBufferAsync();
            int status = (int)response.StatusCode;
            if (status == 200)
            {
                return fixture.IsEquivalent(input) ? "200 (equivalent input)" : "200";
            }

            if (status == 401 && !response.Headers.WwwAuthenticate.Any(c => c.Scheme == "Bearer"))
            {
                return "401 without a Bearer challenge";
            }

            return status.ToString(CultureInfo.InvariantCulture);
        }
    }

    private static async Task AssertValidInputsGet200Async(Fixture fixture, Dictionary<Target, (HttpClient Client, Uri Address)> targets, string when)
    {
        foreach ((Target target, (HttpClient client, Uri address)) in targets)
        {
            FuzzCase valid = fixture.Valid(target, "Valid");
            Assert.AreEqual("200 (equivalent input)", await SendAsync(client, address, valid, fixture), $"{target}, the unmutated valid request, {when}");
        }
    }

    private static async Task<SecureServiceHost> StartServiceAsync(TestIssuer issuer, ForwardedCertificateHeaderFormat format) =>
        await SecureServiceHost.StartAsync(
            app => app.MapGet("/invoices", (HttpContext context) => context.GetCallerSpiffeId().ToString())
                .RequireCaller("spiffe://example.org/orders")
                .RequireScope("invoices.read"),
            new InMemoryCertificateSource(TestPki.Issue(TestPki.Billing)),
            TestPki.Bundles(),
            new Dictionary<string, string?>
            {
                ["SecureComms:Server:PlaintextEndpoints:proxy:Url"] = "http://127.0.0.1:0",
                ["SecureComms:Server:ForwardedCertificates:Format"] = format.ToString(),
                ["SecureComms:Server:ForwardedCertificates:TrustedProxies:0"] = "127.0.0.1",
                ["SecureComms:TokenValidation:Authority"] = issuer.Issuer,
                ["SecureComms:TokenValidation:ExpectedServer"] = "spiffe://example.org/token-server",
                ["SecureComms:TokenValidation:Audience"] = Audience,
                ["SecureComms:TokenValidation:KeyRefreshMinInterval"] = "00:05:00",
            },

            // Errors and warnings only: tens of thousands of refusals would otherwise each keep their debug events.
            services => services.Configure<LoggerFilterOptions>(o => o.MinLevel = LogLevel.Warning));

    private static Uri PlaintextInvoices(SecureServiceHost host) =>
        new(new Uri(host.App.Urls.First(u => u.StartsWith("http://", StringComparison.Ordinal))), "/invoices");

    private static SocketsHttpHandler MtlsHandler(X509Certificate2 certificate) => new()
    {
        MaxConnectionsPerServer = Parallelism,
        SslOptions = new SslClientAuthenticationOptions
        {
            ClientCertificates = [certificate],
            LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate,
            RemoteCertificateValidationCallback = TestClients.ServerTrustedByTestCa,
        },
    };

    private static int FromEnvironment(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ? value : fallback;

    private void Report(string line)
    {
        Console.WriteLine(line);
        TestContext.WriteLine(line);
    }

    [GeneratedRegex(@"^bearer[ \t]+(?<token>[^ \t]+)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex BearerCredentials();

    /// <summary>One request's headers, what kind of mutation made them, and where they go.</summary>
    private sealed record FuzzCase(Target Target, string Kind, IReadOnlyList<(string Name, string Value)> Headers, bool IsValidInput)
    {
        public string Describe() => string.Join("; ", Headers.Select(h => $"{h.Name}: {Shorten(h.Value)}"));

        private static string Shorten(string value)
        {
            string printable = string.Concat(value.Select(c => c is < ' ' or '\x7f' ? $"\\x{(int)c:x2}" : c.ToString()));
            return printable.Length <= 400 ? printable : $"{printable[..200]}…({value.Length} chars)…{printable[^100..]}";
        }
    }

    /// <summary>The valid inputs, the mutations of them, and the test of whether a mutation is the valid input again.</summary>
    private sealed class Fixture
    {
        private const string Base64UrlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        private readonly WorkloadCertificate _orders;
        private readonly WorkloadCertificate[] _others;
        private readonly string _token;
        private readonly byte[][] _tokenParts;

        public Fixture(WorkloadCertificate orders, WorkloadCertificate analytics, WorkloadCertificate rogue, WorkloadCertificate otherDomain, string token)
        {
            _orders = orders;
            _others = [analytics, rogue, otherDomain];
            _token = token;
            _tokenParts = [.. token.Split('.').Select(p => Base64Url.DecodeFromChars(p))];
        }

        public FuzzCase Valid(Target target, string kind) => target == Target.Direct
            ? new FuzzCase(target, kind, [("Authorization", "Bearer " + _token)], true)
            : new FuzzCase(target, kind, [("Authorization", "Bearer " + _token), (HeaderName(target), Forwarded(target, _orders))], true);

        public FuzzCase Next(Random random)
        {
            var target = (Target)random.Next(4);
            if (target == Target.Direct || random.Next(8) == 0)
            {
                // Mostly over mTLS; sometimes a mutated token with a valid forwarded certificate.
                string kind = TokenKinds[random.Next(TokenKinds.Length)];
                List<(string, string)> headers = TokenHeaders(random, kind);
                if (target != Target.Direct)
                {
                    headers.Add((HeaderName(target), Forwarded(target, _orders)));
                }

                return Checked(new FuzzCase(target, "Token" + kind, headers, false));
            }
            else
            {
                string kind = ForwardedKinds[random.Next(ForwardedKinds.Length)];
                List<(string, string)> headers = [("Authorization", "Bearer " + _token), .. ForwardedHeaders(random, target, kind)];
                return Checked(new FuzzCase(target, "Forwarded" + kind, headers, false));
            }
        }

        /// <summary>Whether a request carries the valid token and certificate again (the same bytes once decoded).</summary>
        public bool IsEquivalent(FuzzCase input)
        {
            string[] authorization = [.. input.Headers.Where(h => h.Name == "Authorization").Select(h => h.Value.Trim(' ', '\t'))];
            if (authorization.Length != 1)
            {
                return false;
            }

            Match match = BearerCredentials().Match(authorization[0]);
            if (!match.Success || !SameToken(match.Groups["token"].Value))
            {
                return false;
            }

            if (input.Target == Target.Direct)
            {
                return !input.Headers.Any(h => h.Name != "Authorization");
            }

            string name = HeaderName(input.Target);
            string header = string.Join(",", input.Headers.Where(h => h.Name == name).Select(h => h.Value.Trim(' ', '\t')));
            string[] chain = [.. input.Headers.Where(h => h.Name == "Client-Cert-Chain").Select(h => h.Value)];
            ForwardedCertificateResult parsed = ForwardedCertificateParser.Parse(Format(input.Target), header, chain.Length == 0 ? null : string.Join(",", chain));
            return parsed.Certificate is not null && parsed.Certificate.RawData.AsSpan().SequenceEqual(_orders.Certificate.RawData);
        }

        private FuzzCase Checked(FuzzCase input) => input.Headers.SequenceEqual(Valid(input.Target, input.Kind).Headers) ? input with { IsValidInput = true } : input;

        private bool SameToken(string token)
        {
            string[] parts = token.Split('.');
            if (parts.Length != 3)
            {
                return false;
            }

            for (int i = 0; i < 3; i++)
            {
                try
                {
                    if (!Base64Url.DecodeFromChars(parts[i]).AsSpan().SequenceEqual(_tokenParts[i]))
                    {
                        return false;
                    }
                }
                catch (FormatException)
                {
                    return false;
                }
            }

            return true;
        }

        private List<(string, string)> TokenHeaders(Random random, string kind)
        {
            string bearer = "Bearer " + _token;
            return kind switch
            {
                "Scheme" => [("Authorization", Scheme(random))],
                "MultipleAuthorization" => random.Next(4) switch
                {
                    0 => [("Authorization", bearer), ("Authorization", "Bearer " + ByteMutation(random, _token))],
                    1 => [("Authorization", "Bearer " + ByteMutation(random, _token)), ("Authorization", bearer)],
                    2 => [("Authorization", bearer), ("Authorization", "Basic b3JkZXJzOnNlY3JldA==")],
                    _ => [("Authorization", bearer), ("Authorization", bearer)],
                },
                "JsonEdit" => [("Authorization", "Bearer " + JsonEdit(random))],
                "ControlCharacter" => [("Authorization", InsertControlCharacters(random, bearer))],
                "Huge" => [("Authorization", "Bearer " + Huge(random, _token))],
                "Stacked" => [("Authorization", "Bearer " + Stacked(random, _token))],
                _ => [("Authorization", "Bearer " + ByteMutation(random, _token, kind))],
            };
        }

        private IEnumerable<(string, string)> ForwardedHeaders(Random random, Target target, string kind)
        {
            string name = HeaderName(target);
            string valid = Forwarded(target, _orders);
            switch (kind)
            {
                case "OtherCertificate":
                    WorkloadCertificate other = _others[random.Next(_others.Length)];
                    yield return (name, Forwarded(target, other));
                    if (target == Target.ClientCert && random.Next(2) == 0)
                    {
                        yield return ("Client-Cert-Chain", $":{Convert.ToBase64String(other.Certificate.RawData)}:");
                    }

                    break;
                case "MultipleHeaders":
                    string second = random.Next(2) == 0 ? Forwarded(target, _others[random.Next(_others.Length)]) : ByteMutation(random, valid);
                    bool first = random.Next(2) == 0;
                    yield return (name, first ? valid : second);
                    yield return (name, first ? second : valid);
                    break;
                case "ControlCharacter":
                    yield return (name, InsertControlCharacters(random, valid));
                    break;
                case "Huge":
                    yield return (name, Huge(random, valid));
                    break;
                case "Stacked":
                    yield return (name, Stacked(random, valid));
                    break;
                default:
                    yield return (name, ByteMutation(random, valid, kind));
                    if (target == Target.ClientCert && random.Next(4) == 0)
                    {
                        // RFC 9440's chain header: a mutated copy of the leaf, or the leaf again.
                        yield return ("Client-Cert-Chain", random.Next(2) == 0 ? ByteMutation(random, valid) : valid);
                    }

                    break;
            }
        }

        private static string HeaderName(Target target) => target switch
        {
            Target.ClientCert => "Client-Cert",
            Target.Xfcc => "x-forwarded-client-cert",
            _ => "X-Client-Cert",
        };

        private static ForwardedCertificateFormat Format(Target target) => target switch
        {
            Target.Xfcc => ForwardedCertificateFormat.EnvoyXfcc,
            Target.Nginx => ForwardedCertificateFormat.NginxEscapedPem,
            _ => ForwardedCertificateFormat.ClientCertHeader,
        };

        private static string Forwarded(Target target, WorkloadCertificate certificate) => target switch
        {
            Target.ClientCert => $":{Convert.ToBase64String(certificate.Certificate.RawData)}:",
            Target.Xfcc => $"By=spiffe://example.org/billing;Hash={Convert.ToHexStringLower(SHA256.HashData(certificate.Certificate.RawData))};"
                + $"Cert=\"{Uri.EscapeDataString(certificate.Certificate.ExportCertificatePem())}\";URI={certificate.SpiffeId}",
            _ => Uri.EscapeDataString(certificate.Certificate.ExportCertificatePem()),
        };

        private string Scheme(Random random)
        {
            string t = _token;
            string[] forms =
            [
                $"bearer {t}", $"BEARER {t}", $"Bearer  {t}", $"Bearer\t{t}", $" Bearer {t}", $"Bearer {t} ", $"Bearer:{t}", $"Bearer={t}",
                $"Bearer{t}", $"Bearer {t} extra", $"Basic {t}", $"DPoP {t}", $"Token {t}", $"Bearer \"{t}\"", $"Bearer {t},Bearer {t}",
                $"Bearer {t}, Basic b3JkZXJz", t, "Bearer", "Bearer ", string.Empty, "Bearer realm=\"x\"", $"Bearer token={t}",
                $"Bearer {t}.", $"Bearer .{t}", $"Bearer {t}=", $"Bearer {t.Replace('.', ' ')}", $"Bearer, {t}", $"Bearer;{t}",
            ];
            return forms[random.Next(forms.Length)];
        }

        private string JsonEdit(Random random)
        {
            string[] parts = _token.Split('.');
            JsonObject header = JsonNode.Parse(_tokenParts[0])!.AsObject();
            JsonObject payload = JsonNode.Parse(_tokenParts[1])!.AsObject();
            string signature = parts[2];
            switch (random.Next(14))
            {
                case 0: header["alg"] = "none"; signature = random.Next(2) == 0 ? string.Empty : signature; break;
                case 1: header["alg"] = "HS256"; break;
                case 2: header.Remove("alg"); break;
                case 3: header["kid"] = "another-key"; break;
                case 4: header["typ"] = "JWT"; break;
                case 5: payload.Remove("cnf"); break;
                case 6: payload["cnf"] = new JsonObject { ["x5t#S256"] = _others[random.Next(_others.Length)].Sha256Thumbprint }; break;
                case 7: payload["exp"] = random.Next(2) == 0 ? 253402300799L : 4102444800L; break;
                case 8: payload.Remove("exp"); break;
                case 9: payload["scope"] = "invoices.read invoices.write admin"; break;
                case 10: payload["aud"] = new JsonArray(Audience, "https://payments.example.org"); break;
                case 11: payload["iss"] = "https://evil.example.org"; break;
                case 12: payload["sub"] = "analytics"; payload["client_id"] = "analytics"; break;
                default: payload["act"] = new JsonObject { ["sub"] = "spiffe://example.org/analytics" }; break;
            }

            return $"{Encode(header)}.{Encode(payload)}.{signature}";

            static string Encode(JsonObject json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json.ToJsonString()));
        }

        private static string Stacked(Random random, string value)
        {
            int steps = random.Next(2, 6);
            for (int i = 0; i < steps; i++)
            {
                value = ByteMutation(random, value);
            }

            return value;
        }

        private static string ByteMutation(Random random, string value, string? kind = null)
        {
            kind ??= ForwardedKinds[random.Next(6)];
            var text = new StringBuilder(value);
            int at = text.Length == 0 ? 0 : random.Next(text.Length);
            switch (kind)
            {
                case "BitFlip" when text.Length > 0:
                    char flipped;
                    do
                    {
                        flipped = (char)(text[at] ^ (1 << random.Next(7)));
                    }
                    while (flipped is '\0' or '\r' or '\n');
                    text[at] = flipped;
                    break;
                case "Insert":
                    int count = random.Next(1, 9);
                    for (int i = 0; i < count; i++)
                    {
                        text.Insert(at, (char)random.Next(0x20, 0x7f));
                    }

                    break;
                case "Delete" when text.Length > 0:
                    text.Remove(at, Math.Min(random.Next(1, 9), text.Length - at));
                    break;
                case "Truncate":
                    text.Length = at;
                    break;
                case "DuplicateSegment":
                    char[] separators = ['.', ';', ',', ':', '%', '"'];
                    string[] segments = value.Split(separators);
                    string segment = random.Next(3) == 0 || segments.Length < 2 ? value.Substring(at, Math.Min(random.Next(1, 64), value.Length - at)) : segments[random.Next(segments.Length)];
                    string joint = random.Next(2) == 0 ? string.Empty : separators[random.Next(separators.Length)].ToString();
                    text.Insert(at, segment + joint);
                    break;
                case "AlphabetSwap":
                    text.Clear().Append(random.Next(6) switch
                    {
                        0 => value.Replace('-', '+').Replace('_', '/'),
                        1 => value.Replace('+', '-').Replace('/', '_'),
                        2 => value.Replace("%2B", "+", StringComparison.Ordinal).Replace("%2F", "/", StringComparison.Ordinal),
                        3 => value.Replace(".", "=.", StringComparison.Ordinal),
                        4 => value.Replace("=", string.Empty, StringComparison.Ordinal),
                        _ => value[..at] + "+/=-_%"[random.Next(6)] + value[Math.Min(at + 1, value.Length)..],
                    });
                    break;
                default:
                    text.Insert(at, Base64UrlAlphabet[random.Next(Base64UrlAlphabet.Length)]);
                    break;
            }

            return text.ToString();
        }

        /// <summary>Long values: some within Kestrel's 32 KB of request headers (the parsers' limits), some beyond it (431).</summary>
        private static string Huge(Random random, string value)
        {
            int length = random.Next(2) == 0 ? random.Next(8 * 1024, 28 * 1024) : random.Next(33 * 1024, 96 * 1024);
            var text = new StringBuilder(value, length);
            int at = random.Next(value.Length + 1);
            string filler = random.Next(2) == 0 ? Base64UrlAlphabet : value;
            var padding = new StringBuilder(length);
            while (padding.Length + value.Length < length)
            {
                padding.Append(filler[random.Next(filler.Length)]);
            }

            return text.Insert(at, padding.ToString()).ToString();
        }

        /// <summary>Control characters that HttpClient sends as they are (CR, LF and NUL it refuses to send).</summary>
        private static string InsertControlCharacters(Random random, string value)
        {
            var text = new StringBuilder(value);
            int count = random.Next(1, 4);
            for (int i = 0; i < count; i++)
            {
                char c;
                do
                {
                    c = random.Next(10) == 0 ? '\x7f' : (char)random.Next(1, 0x20);
                }
                while (c is '\r' or '\n');
                text.Insert(random.Next(text.Length + 1), c);
            }

            return text.ToString();
        }
    }
}
