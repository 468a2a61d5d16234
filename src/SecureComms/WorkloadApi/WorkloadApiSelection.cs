namespace SecureComms;

/// <summary>The process environment as the Workload API selection reads it (replaceable in tests).</summary>
internal sealed class WorkloadApiEnvironment(Func<string, string?> read)
{
    /// <summary>The real environment of this process.</summary>
    public static WorkloadApiEnvironment Process { get; } = new(Environment.GetEnvironmentVariable);

    /// <summary>The value of <c>SPIFFE_ENDPOINT_SOCKET</c>, or <see langword="null"/> when unset or empty.</summary>
    public string? EndpointSocket => read(WorkloadApiOptions.EndpointSocketVariable) is { Length: > 0 } value ? value : null;
}

/// <summary>
/// The one rule that decides where the workload's identity comes from (<c>SecureComms:Certificate:Source</c>):
/// <list type="bullet">
/// <item><see cref="CertificateSourceKind.WorkloadApi"/>: the Workload API; certificate and trust bundle files configured
/// elsewhere are not read (event 1805 names them).</item>
/// <item><see cref="CertificateSourceKind.Automatic"/> (the default): the Workload API when its endpoint is known
/// (<c>SecureComms:WorkloadApi:Socket</c> or <c>SPIFFE_ENDPOINT_SOCKET</c>) and no certificate is configured; then trust
/// bundle files are an error, since the bundles come from the Workload API. Otherwise the files.</item>
/// <item><see cref="CertificateSourceKind.Files"/>: the configured files.</item>
/// </list>
/// A certificate source supplied in code (<c>UseCertificateSource</c>) always wins.
/// </summary>
internal static class WorkloadApiSelection
{
    private const string Prefix = SecureCommsOptions.SectionName + ":";

    /// <summary>Whether the workload's certificate and trust bundles come from the Workload API.</summary>
    internal static bool UsesWorkloadApi(SecureCommsOptions options, WorkloadApiEnvironment environment) =>
        !options.HasCustomCertificateSource && options.Certificate.Source switch
        {
            CertificateSourceKind.WorkloadApi => true,
            CertificateSourceKind.Automatic => ResolveAddress(options.WorkloadApi, environment) is not null && !IsCertificateConfigured(options.Certificate),
            _ => false,
        };

    /// <summary>The endpoint address: <c>SecureComms:WorkloadApi:Socket</c>, else <c>SPIFFE_ENDPOINT_SOCKET</c>.</summary>
    internal static string? ResolveAddress(WorkloadApiOptions options, WorkloadApiEnvironment environment) =>
        string.IsNullOrEmpty(options.Socket) ? environment.EndpointSocket : options.Socket;

    /// <summary>The address with where it came from, as messages name it: <c>unix:///x (from SPIFFE_ENDPOINT_SOCKET)</c>.</summary>
    internal static string DescribeAddress(WorkloadApiOptions options, WorkloadApiEnvironment environment) =>
        string.IsNullOrEmpty(options.Socket)
            ? $"{environment.EndpointSocket} (from the environment variable {WorkloadApiOptions.EndpointSocketVariable})"
            : $"{options.Socket} ({AddressKey})";

    /// <summary>The key to fix for a bad address: the configuration key, or the environment variable it came from.</summary>
    internal static string AddressSourceName(WorkloadApiOptions options) =>
        string.IsNullOrEmpty(options.Socket) ? $"the environment variable {WorkloadApiOptions.EndpointSocketVariable}" : AddressKey;

    /// <summary>Whether any certificate form is configured.</summary>
    internal static bool IsCertificateConfigured(WorkloadCertificateOptions certificate) =>
        certificate.CertificatePath is not null || certificate.KeyPath is not null || certificate.Pkcs12Path is not null || certificate.StoreThumbprint is not null;

    /// <summary>The configured certificate and trust bundle file settings that the Workload API makes unused, by key.</summary>
    internal static List<string> IgnoredFileSettings(SecureCommsOptions options)
    {
        var keys = new List<string>();
        WorkloadCertificateOptions certificate = options.Certificate;
        AddIfSet(keys, "Certificate:CertificatePath", certificate.CertificatePath);
        AddIfSet(keys, "Certificate:KeyPath", certificate.KeyPath);
        AddIfSet(keys, "Certificate:Pkcs12Path", certificate.Pkcs12Path);
        AddIfSet(keys, "Certificate:StoreThumbprint", certificate.StoreThumbprint);
        if (!options.HasCustomTrustBundleSource)
        {
            foreach (string trustDomain in options.TrustBundles.Keys)
            {
                keys.Add($"{Prefix}TrustBundles:{trustDomain}");
            }
        }

        return keys;
    }

    private const string AddressKey = Prefix + "WorkloadApi:Socket";

    private static void AddIfSet(List<string> keys, string key, string? value)
    {
        if (value is not null)
        {
            keys.Add(Prefix + key);
        }
    }
}
