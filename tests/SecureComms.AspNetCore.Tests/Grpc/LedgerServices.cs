using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace SecureComms.AspNetCore.Tests.Grpc;

/// <summary>The ledger (billing): each reply says who called, for which user, with which token.</summary>
internal sealed class LedgerService(GrpcCalls calls) : Ledger.LedgerBase
{
    public override Task<EntryReply> Get(EntryRequest request, ServerCallContext context)
    {
        calls.Ran("Get");
        return Task.FromResult(Reply(request, context, "get"));
    }

    public override async Task List(EntryRequest request, IServerStreamWriter<EntryReply> responseStream, ServerCallContext context)
    {
        calls.Ran("List");
        for (int i = 0; i < request.Count; i++)
        {
            await responseStream.WriteAsync(Reply(request, context, $"item {i}"));
        }
    }

    public override async Task<EntryReply> Upload(IAsyncStreamReader<EntryRequest> requestStream, ServerCallContext context)
    {
        calls.Ran("Upload");
        int entries = 0;
        await foreach (EntryRequest _ in requestStream.ReadAllAsync(context.CancellationToken))
        {
            entries++;
        }

        return Reply(new EntryRequest(), context, $"{entries} entries");
    }

    /// <summary>The caller's SPIFFE ID, the verified end user and the token's <c>sub</c>/<c>act</c> as the service sees them.</summary>
    internal static EntryReply Reply(EntryRequest request, ServerCallContext context, string detail)
    {
        HttpContext http = context.GetHttpContext();
        return new EntryReply
        {
            Caller = http.GetCallerSpiffeId().ToString(),
            User = http.User.GetEndUser()?.Subject ?? string.Empty,
            Id = request.Id,
            Detail = $"{detail} sub={http.User.FindFirst("sub")?.Value} act={http.User.FindFirst("act")?.Value} "
                + $"cert={(http.Connection.ClientCertificate is { } certificate ? CertificateBinding.Thumbprint(certificate) : null)} connection={http.Connection.Id}",
        };
    }
}

/// <summary>The checkout (orders): calls the ledger over gRPC when a ledger client is registered, else answers itself.</summary>
internal sealed class CheckoutService(GrpcCalls calls, IServiceProvider services) : Checkout.CheckoutBase
{
    public override async Task<EntryReply> Buy(EntryRequest request, ServerCallContext context)
    {
        calls.Ran("Buy");
        if (services.GetService<Ledger.LedgerClient>() is not { } ledger)
        {
            return LedgerService.Reply(request, context, "bought");
        }

        EntryReply billing = await ledger.GetAsync(request, cancellationToken: context.CancellationToken);
        return new EntryReply { Caller = context.GetHttpContext().GetCallerSpiffeId().ToString(), Id = request.Id, Detail = $"billing saw caller={billing.Caller} user={billing.User} {billing.Detail}" };
    }

    public override Task<EntryReply> Refund(EntryRequest request, ServerCallContext context)
    {
        calls.Ran("Refund");
        return Task.FromResult(LedgerService.Reply(request, context, "refunded"));
    }
}

/// <summary>Counts the service methods that ran (a refused call never reaches one).</summary>
internal sealed class GrpcCalls
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _runs = new(StringComparer.Ordinal);

    public void Ran(string method) => _runs.AddOrUpdate(method, 1, (_, n) => n + 1);

    public int Runs(string method) => _runs.TryGetValue(method, out int n) ? n : 0;
}
