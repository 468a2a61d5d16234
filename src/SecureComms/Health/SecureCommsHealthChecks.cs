namespace SecureComms;

/// <summary>
/// Names and tag of the health checks <c>AddSecureComms</c>/<c>AddSecureCommsCore</c> register with
/// <c>Microsoft.Extensions.Diagnostics.HealthChecks</c>, for <c>MapHealthChecks</c> filters and dashboards.
/// </summary>
public static class SecureCommsHealthChecks
{
    /// <summary>The tag every SecureComms health check carries: <c>securecomms</c>.</summary>
    public const string Tag = "securecomms";

    /// <summary>
    /// The workload's own certificate: Healthy while valid, Degraded once less than a third of its lifetime (or less
    /// than <c>SecureComms:Health:CertificateExpiryWarning</c>) remains, Unhealthy when expired, not yet valid or unreadable.
    /// </summary>
    public const string Certificate = "securecomms.certificate";

    /// <summary>
    /// The trust bundles: Unhealthy when none is loaded, the workload's own trust domain has no bundle, or none of its
    /// authorities is currently valid; Degraded when any bundle holds an expired authority or a federated bundle has no
    /// valid one.
    /// </summary>
    public const string TrustBundles = "securecomms.trust_bundles";

    /// <summary>
    /// The token endpoints of the outbound clients that acquire access tokens, by their last acquisition: Degraded when
    /// the last request failed but a cached token is still valid, Unhealthy when it failed and no valid token remains.
    /// </summary>
    public const string TokenEndpoints = "securecomms.token_endpoints";

    /// <summary>
    /// The SPIFFE Workload API stream, when the identity comes from it: Healthy while connected; Degraded while
    /// disconnected (the agent restarted, or denies this workload) and the current SVID is still valid; Unhealthy before
    /// the first SVID and once the SVID served during an outage has expired. Healthy with "not in use" otherwise.
    /// </summary>
    public const string WorkloadApi = "securecomms.workload_api";

    /// <summary>
    /// The JWT bundle stream of the SPIFFE Workload API, when the service accepts JWT-SVIDs (registered by the ASP.NET
    /// Core <c>AddSecureComms</c>): Healthy while the stream is up and bundles arrived; Degraded while it is down (the
    /// agent restarted, or denies this workload) and the last bundles received are kept; Unhealthy before the first
    /// bundle, when every JWT-SVID is refused. Healthy with "not accepted" otherwise.
    /// </summary>
    public const string JwtBundles = "securecomms.jwt_bundles";
}
