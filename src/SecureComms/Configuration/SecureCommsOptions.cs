namespace SecureComms;

/// <summary>
/// Settings of SecureComms, bound from the <c>SecureComms</c> configuration section (environment variables use the
/// <c>SecureComms__</c> prefix). Every setting is validated at start-up; a problem stops the host with a message
/// naming the configuration key. Of these, <see cref="Clients"/> and <see cref="Health"/> follow configuration changes
/// (a client's <c>BaseAddress</c> for clients created from then on, its connection settings for handlers built from then
/// on, which <c>IHttpClientFactory</c> does every two minutes by default; its <c>Token</c> settings stay as at its first
/// use); an invalid change is refused with one warning (event 1900) and the last good settings stay in force. The
/// others are read at start-up, and a client removed from configuration stays until a restart.
/// </summary>
public sealed class SecureCommsOptions
{
    /// <summary>The configuration section name: <c>SecureComms</c>.</summary>
    public const string SectionName = "SecureComms";

    /// <summary>Where this workload's own X.509-SVID comes from (<c>SecureComms:Certificate</c>).</summary>
    public WorkloadCertificateOptions Certificate { get; set; } = new();

    /// <summary>
    /// Trust bundles by trust domain name (<c>SecureComms:TrustBundles:{trust-domain}</c>): the workload's own trust
    /// domain and every federated one. A peer from a trust domain that is not listed is untrusted.
    /// </summary>
    public IDictionary<string, TrustBundleOptions> TrustBundles { get; } = new Dictionary<string, TrustBundleOptions>(StringComparer.Ordinal);

    /// <summary>
    /// How often certificate and bundle files are re-read when no file-system event arrived (mounted secrets change by
    /// symlink swap, which watchers miss). Default 30 seconds; at least 1 second.
    /// </summary>
    public TimeSpan FilePollingInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Outbound mutual-TLS clients by name (<c>SecureComms:Clients:{name}</c>), registered with <c>IHttpClientFactory</c>.</summary>
    public IDictionary<string, SecureClientOptions> Clients { get; } = new Dictionary<string, SecureClientOptions>(StringComparer.Ordinal);

    /// <summary>How to reach the SPIFFE Workload API (<c>SecureComms:WorkloadApi</c>), when the SVID comes from it.</summary>
    public WorkloadApiOptions WorkloadApi { get; set; } = new();

    /// <summary>Health checks and certificate-expiry warnings (<c>SecureComms:Health</c>).</summary>
    public SecureCommsHealthOptions Health { get; set; } = new();

    /// <summary>Which end-user contexts this service accepts from its callers (<c>SecureComms:UserContext</c>). Default: none.</summary>
    public UserContextTrustOptions UserContext { get; set; } = new();

    /// <summary>Set when the application supplies its own <see cref="ICertificateSource"/> in code.</summary>
    internal bool HasCustomCertificateSource { get; set; }

    /// <summary>Set when the application supplies its own <see cref="ITrustBundleSource"/> in code.</summary>
    internal bool HasCustomTrustBundleSource { get; set; }
}
