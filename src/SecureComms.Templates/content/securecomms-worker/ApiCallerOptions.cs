namespace SecureComms.Worker1;

/// <summary>What the worker calls and how often (section <c>Worker</c>).</summary>
internal sealed class ApiCallerOptions
{
    public const string SectionName = "Worker";

    public const string DefaultClient = "billing";

#if (Grpc)
    /// <summary>
    /// The named client under <c>SecureComms:Clients</c>, which is also the gRPC client's name. Default <c>billing</c>.
    /// </summary>
    public string Client { get; set; } = DefaultClient;

    /// <summary>How long one call may take: its gRPC deadline, sent to the service. Default 30 seconds.</summary>
    public TimeSpan Deadline { get; set; } = TimeSpan.FromSeconds(30);
#else
    /// <summary>The named client under <c>SecureComms:Clients</c>. Default <c>billing</c>.</summary>
    public string Client { get; set; } = DefaultClient;

    /// <summary>The path called with GET, relative to the client's base address. Default <c>/hello</c>.</summary>
    public string Path { get; set; } = "/hello";
#endif

    /// <summary>Time between calls. Default 10 seconds.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Stop after the first successful call with exit code 0, or after <see cref="MaxAttempts"/> failed calls with exit
    /// code 1: a smoke test or a Kubernetes Job. Default <c>false</c> (call forever).
    /// </summary>
    public bool RunOnce { get; set; }

    /// <summary>With <see cref="RunOnce"/>, how many calls may fail before the worker gives up. Default 30.</summary>
    public int MaxAttempts { get; set; } = 30;
}
