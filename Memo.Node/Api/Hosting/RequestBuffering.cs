using System.IO.Pipelines;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Memo.Node.Api.Hosting;

/// <summary>
/// Puts every call's request body behind a <see cref="BudgetedRequestReader"/>, so the messages of all calls share one
/// buffering budget (<c>memo.grpc.request-buffer-budget</c>), and gives back what a call still holds when it ends.
/// </summary>
/// <remarks>Grpc.AspNetCore reads the body through <c>HttpRequest.BodyReader</c>, which is the
/// <see cref="IRequestBodyPipeFeature"/> of the request; replacing the feature before the endpoint runs puts the
/// budgeted reader in its path without touching the library.</remarks>
internal sealed class RequestBuffering(RequestBufferLimits limits)
{
    /// <summary>The middleware step.</summary>
    public async Task ApplyAsync(HttpContext context, RequestDelegate next)
    {
        // A unary or server-streaming call's body is one message and its end: a wait for it is timed even when no
        // message holds budget (streams may idle between messages).
        var singleMessage = context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>() is { Method.Type: MethodType.Unary or MethodType.ServerStreaming };
        var reader = new BudgetedRequestReader(context.Request.BodyReader, limits, singleMessage);
        context.Features.Set<IRequestBodyPipeFeature>(new BudgetedBody(reader));
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            reader.ReleaseHeld();
        }
    }

    private sealed class BudgetedBody(PipeReader reader) : IRequestBodyPipeFeature
    {
        public PipeReader Reader => reader;
    }
}
