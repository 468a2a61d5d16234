using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Abstractions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace SecureComms.Benchmarks.Server;

/// <summary>
/// An <see cref="IServer"/> that hands requests straight to the application, as Kestrel does after it has parsed them:
/// the whole ASP.NET Core pipeline (hosting, routing, authentication, authorization, the endpoint) runs per request,
/// with no socket, TLS record or HTTP parsing. The connection's client certificate is given as Kestrel's TLS feature
/// would give it. Like Kestrel, the request's <see cref="HttpContext"/> is reused from one request to the next.
/// </summary>
internal sealed class InProcessServer : IServer
{
    private Func<RequestShape, Task<int>>? _invoke;

    public IFeatureCollection Features { get; } = new FeatureCollection();

    public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken)
        where TContext : notnull
    {
        var connection = new Connection<TContext>(application);
        _invoke = connection.InvokeAsync;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
    }

    /// <summary>Runs one request through the application and returns its status code.</summary>
    public Task<int> InvokeAsync(RequestShape request) =>
        (_invoke ?? throw new InvalidOperationException("The application has not started."))(request);

    /// <summary>What the request carries: its path and headers, and the client certificate of its connection.</summary>
    internal sealed record RequestShape(string Method, string Path, X509Certificate2? ClientCertificate, string? Authorization);

    private sealed class Connection<TContext>(IHttpApplication<TContext> application)
        where TContext : notnull
    {
        private TContext? _reused;

        public async Task<int> InvokeAsync(RequestShape shape)
        {
            IHeaderDictionary headers = new HeaderDictionary();
            if (shape.Authorization is not null)
            {
                headers.Authorization = shape.Authorization; // the same string object every time, as Kestrel reuses it
            }

            var response = new HttpResponseFeature();
            var features = new RequestFeatures(_reused);
            features.Set<IHttpRequestFeature>(new HttpRequestFeature
            {
                Method = shape.Method,
                Scheme = "https",
                Protocol = "HTTP/2",
                Path = shape.Path,
                Headers = headers,
            });
            features.Set<IHttpResponseFeature>(response);
            features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(Stream.Null));
            features.Set<IHttpConnectionFeature>(new HttpConnectionFeature { RemoteIpAddress = IPAddress.Loopback, LocalIpAddress = IPAddress.Loopback, ConnectionId = "benchmark" });
            features.Set<ITlsConnectionFeature>(new TlsConnectionFeature { ClientCertificate = shape.ClientCertificate });

            TContext context = application.CreateContext(features);
            Exception? failure = null;
            try
            {
                await application.ProcessRequestAsync(context).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                failure = ex;
                response.StatusCode = StatusCodes.Status500InternalServerError;
            }

            application.DisposeContext(context, failure);
            _reused = features.HostContext;
            return response.StatusCode;
        }

        private sealed class RequestFeatures(TContext? reused) : FeatureCollection, IHostContextContainer<TContext>
        {
            public TContext? HostContext { get; set; } = reused;
        }
    }
}
