using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using SecureComms.Testing;

namespace SecureComms.Demo;

/// <summary>
/// <c>--keep-running</c>: writes a trust bundle and client SVIDs for orders and analytics as PEM files, prints the
/// <c>curl</c> commands that replay the scenarios by hand (also saved as <c>try-it.sh</c>, which checks each status),
/// and keeps the services up until Ctrl+C or SIGTERM. The files are development-only and deleted on exit.
/// </summary>
internal static class TryItByHand
{
    public static async Task RunUntilStoppedAsync(DevelopmentCertificateAuthority ca, Uri billing, Uri tokenEndpoint, string resource, string? directory)
    {
        bool created = directory is null || !Directory.Exists(directory);
        directory ??= Directory.CreateTempSubdirectory("securecomms-demo-").FullName;
        Directory.CreateDirectory(directory);
        foreach (string name in new[] { "orders", "analytics" })
        {
            if (File.Exists(Path.Combine(directory, name + ".key")))
            {
                Console.WriteLine($"{Path.Combine(directory, name + ".key")} exists; the demo does not overwrite keys. Choose another --files directory.");
                return;
            }
        }

        ca.WriteTrustBundlePem(Path.Combine(directory, "bundle.pem"));
        foreach (string name in new[] { "orders", "analytics" })
        {
            // Same SPIFFE IDs as the demo's services, fresh keys: curl plays these workloads. Keys are written 0600.
            DevelopmentCertificateAuthority.WriteCertificatePem(
                ca.IssueSvid(SpiffeId.FromPath(ca.TrustDomain, "/" + name), TimeSpan.FromHours(8)),
                Path.Combine(directory, name + ".pem"),
                Path.Combine(directory, name + ".key"));
        }

        string script = Script(directory, Localhost(billing), Localhost(tokenEndpoint), resource);
        string scriptPath = Path.Combine(directory, "try-it.sh");
        await File.WriteAllTextAsync(scriptPath, script);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(scriptPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        Console.WriteLine();
        Console.WriteLine($"The services keep running. Certificate files (development only) are in {directory}.");
        Console.WriteLine("Paste these commands to try it by hand (curl checks billing's certificate against bundle.pem; the");
        Console.WriteLine("services' SVIDs also name localhost for curl's host-name check), or run them all: bash " + scriptPath);
        Console.WriteLine();
        Console.WriteLine(script);
        Console.WriteLine("Press Ctrl+C to stop.");

        var stopped = new TaskCompletionSource();
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stopped.TrySetResult();
        }

        using (PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop))
        using (PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop))
        {
            await stopped.Task;
        }

        if (created)
        {
            Directory.Delete(directory, recursive: true);
        }
        else
        {
            foreach (string file in new[] { "bundle.pem", "orders.pem", "orders.key", "analytics.pem", "analytics.key", "try-it.sh" })
            {
                File.Delete(Path.Combine(directory, file));
            }
        }

        Console.WriteLine("Stopped; the demo's key files were deleted.");
    }

    private static string Localhost(Uri address) => new UriBuilder(address) { Host = "localhost" }.Uri.ToString().TrimEnd('/');

    private static string Script(string directory, string billing, string tokenEndpoint, string resource)
    {
        string Tls(string identity) => $"--cacert {directory}/bundle.pem --cert {directory}/{identity}.pem --key {directory}/{identity}.key";
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $$"""
            # try-it.sh: the demo's scenarios with curl. Each line prints the HTTP status and checks it.
            set -u
            failures=0
            expect() { if [ "$2" = "$1" ]; then echo "  ok   $1  $3"; else echo "  FAIL expected $1, got $2  $3"; failures=$((failures+1)); fi; }
            token() { curl -s {{Tls("$1")}} -d grant_type=client_credentials -d client_id="$1" -d scope=invoices.read --data-urlencode resource={{resource}} {{tokenEndpoint}} | sed -E 's/.*"access_token":"([^"]+)".*/\1/'; }

            # 1. orders gets a token bound to its certificate (client credentials over mTLS, tls_client_auth) and calls billing: 200
            ORDERS_TOKEN=$(token orders)
            expect 200 "$(curl -s -o /dev/null -w '%{http_code}' {{Tls("orders")}} -H "Authorization: Bearer $ORDERS_TOKEN" {{billing}}/invoices)" "orders -> billing with its bound token"

            # 2. analytics, with its own valid token, is not in billing's policy: 403
            expect 403 "$(curl -s -o /dev/null -w '%{http_code}' {{Tls("analytics")}} -H "Authorization: Bearer $(token analytics)" {{billing}}/invoices)" "analytics -> billing (policy)"

            # 3. analytics replays the token stolen from orders: 401 invalid_token (bound to another certificate)
            expect 401 "$(curl -s -o /dev/null -w '%{http_code}' {{Tls("analytics")}} -H "Authorization: Bearer $ORDERS_TOKEN" {{billing}}/invoices)" "analytics replays orders' token"

            # 4. no client certificate: the TLS handshake is refused, so there is no HTTP status (curl prints 000)
            expect 000 "$(curl -s -o /dev/null -w '%{http_code}' --cacert {{directory}}/bundle.pem {{billing}}/invoices)" "no client certificate"

            exit $failures
            """);
        return text.ToString();
    }
}
