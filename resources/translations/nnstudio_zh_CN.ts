<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>Banner</name>
    <message>
        <source>Hide this message</source>
        <extracomment>window actions that edit the graph or replace the document: disabled while training the views (weights, boundary, confusion, panel counters, status line) redraw at most this often state -&gt; enabled (pause/resume, stop, step, reset) for the toolbar and Model menu</extracomment>
        <translation>隐藏此消息</translation>
    </message>
</context>
<context>
    <name>Commands</name>
    <message>
        <source>Move layer</source>
        <translation>移动层</translation>
    </message>
    <message>
        <source>Move {n} layers</source>
        <translation>移动 {n} 个层</translation>
    </message>
</context>
<context>
    <name>ConfusionView</name>
    <message>
        <source>the validation confusion matrix appears here after each epoch (classification)</source>
        <translation>每轮训练结束后，这里显示验证集上的混淆矩阵（分类任务）</translation>
    </message>
    <message>
        <source>true {true}, predicted {pred}: {n} ({pct}% of {true})</source>
        <translation>真实 {true}，预测 {pred}：{n} 个（占 {true} 的 {pct}%）</translation>
    </message>
    <message>
        <source>validation after epoch {epoch}: {n} samples, accuracy {acc}% (rows: true class, columns: predicted)</source>
        <translation>第 {epoch} 轮后的验证集：{n} 个样本，准确率 {acc}%（行：真实类别，列：预测类别）</translation>
    </message>
    <message>
        <source>validation: {n} samples, accuracy {acc}% (rows: true class, columns: predicted)</source>
        <translation>验证集：{n} 个样本，准确率 {acc}%（行：真实类别，列：预测类别）</translation>
    </message>
</context>
<context>
    <name>Crash</name>
    <message>
        <source>NN Studio hit an internal error (a bug in NN Studio, not something you did): {what}.</source>
        <extracomment>Qt messages that are noise on some platforms (offscreen, xcb without a compositor)</extracomment>
        <translation>NN Studio 遇到了内部错误（这是 NN Studio 的缺陷，不是您的操作造成的）：{what}。</translation>
    </message>
    <message>
        <source>The details were written to {path}; please include them when you report it.</source>
        <translation>详细信息已写入 {path}；报告问题时请附上它。</translation>
    </message>
    <message>
        <source>Unsaved changes were autosaved.</source>
        <translation>未保存的更改已自动保存。</translation>
    </message>
    <message>
        <source>Internal error</source>
        <translation>内部错误</translation>
    </message>
</context>
<context>
    <name>DataPanel</name>
    <message>
        <source>file or folder</source>
        <translation>文件或文件夹</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <source>auto</source>
        <translation>自动</translation>
    </message>
    <message>
        <source>source</source>
        <translation>来源</translation>
    </message>
    <message>
        <source>sample</source>
        <translation>示例</translation>
    </message>
    <message>
        <source>path</source>
        <translation>路径</translation>
    </message>
    <message>
        <source>Load data</source>
        <translation>载入数据</translation>
    </message>
    <message>
        <source>no data loaded</source>
        <translation>尚未载入数据</translation>
    </message>
    <message>
        <source>choose a file or folder first</source>
        <translation>请先选择文件或文件夹</translation>
    </message>
    <message>
        <source>tick at least one feature column</source>
        <translation>请至少勾选一个特征列</translation>
    </message>
    <message>
        <source>number</source>
        <translation>数值</translation>
    </message>
    <message>
        <source>text</source>
        <translation>文本</translation>
    </message>
    <message>
        <source>empty</source>
        <translation>空</translation>
    </message>
    <message>
        <source>free text</source>
        <translation>自由文本</translation>
    </message>
    <message numerus="yes">
        <source>%n column(s); task: %1 (chosen)</source>
        <translation>
            <numerusform>%n 列；任务：%1（已选择）</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n column(s); proposed task: %1</source>
        <translation>
            <numerusform>%n 列；建议的任务：%1</numerusform>
        </translation>
    </message>
    <message>
        <source>encoding: %1 (detected)</source>
        <translation>编码：%1（检测到）</translation>
    </message>
    <message>
        <source>encoding: %1 (chosen)</source>
        <translation>编码：%1（已选择）</translation>
    </message>
    <message>
        <source>sheet &apos;%1&apos; (%2 sheets)</source>
        <translation>工作表“%1”（共 %2 个工作表）</translation>
    </message>
    <message>
        <source>delimiter &apos;%1&apos;, %2</source>
        <translation>分隔符“%1”，%2</translation>
    </message>
    <message>
        <source>; proposed task: %1</source>
        <translation>；建议的任务：%1</translation>
    </message>
    <message>
        <source>; task: %1 (chosen)</source>
        <translation>；任务：%1（已选择）</translation>
    </message>
    <message>
        <source>%1 rows → windows: %2 train, %3 validation, %4 test</source>
        <translation>%1 行 → 窗口：训练 %2 个，验证 %3 个，测试 %4 个</translation>
    </message>
    <message>
        <source> — a part is too short for one window: use a shorter window or change the split</source>
        <translation> — 有一部分太短，放不下一个窗口：请使用更短的窗口或调整划分比例</translation>
    </message>
    <message>
        <source>%1 images in %2 classes</source>
        <translation>%2 个类别中的 %1 张图像</translation>
    </message>
    <message>
        <source>; proposed size %1x%2</source>
        <translation>；建议尺寸 %1x%2</translation>
    </message>
    <message>
        <source>; %1 files skipped (e.g. %2: %3)</source>
        <translation>；跳过了 %1 个文件（例如 %2：%3）</translation>
    </message>
    <message>
        <source>%1 classes</source>
        <translation>%1 个类别</translation>
    </message>
    <message>
        <source>%1 target(s)</source>
        <translation>%1 个目标</translation>
    </message>
    <message>
        <source>loaded: %1 samples (%2 train, %3 validation, %4 test) · input %5 · %6, %7</source>
        <translation>已载入：%1 个样本（训练 %2，验证 %3，测试 %4）· 输入 %5 · %6，%7</translation>
    </message>
    <message>
        <source> · %1 rows skipped</source>
        <translation> · 跳过了 %1 行</translation>
    </message>
    <message>
        <source> · %1 files skipped</source>
        <translation> · 跳过了 %1 个文件</translation>
    </message>
    <message>
        <source> · %1 missing values filled</source>
        <translation> · 填补了 %1 个缺失值</translation>
    </message>
    <message>
        <source> · %1 columns not used</source>
        <translation> · %1 列未使用</translation>
    </message>
    <message>
        <source> · %1 notes in the load report</source>
        <translation> · 载入报告中有 %1 条说明</translation>
    </message>
    <message>
        <source>word tokens</source>
        <translation>按词切分</translation>
    </message>
    <message>
        <source>character tokens</source>
        <translation>按字符切分</translation>
    </message>
    <message>
        <source>text &apos;{name}&apos;: {mode}, vocabulary {vocab} ids ({distinct} distinct tokens in training), length {max_len} tokens (training texts: mean {mean}, longest {longest})</source>
        <translation>文本“{name}”：{mode}，词表 {vocab} 个 ID（训练集中有 {distinct} 个不同的词元），长度 {max_len} 个词元（训练文本：平均 {mean}，最长 {longest}）</translation>
    </message>
    <message>
        <source>; unknown tokens in validation: {pct} %</source>
        <translation>；验证集中的未登录词：{pct} %</translation>
    </message>
</context>
<context>
    <name>DecisionBoundaryView</name>
    <message>
        <source>the decision boundary appears here for data with two input features</source>
        <translation>对于有两个输入特征的数据，这里显示决策边界</translation>
    </message>
    <message>
        <source>class colours; faded = unsure</source>
        <translation>颜色表示类别；颜色越淡越不确定</translation>
    </message>
    <message>
        <source>blue = low, orange = high</source>
        <translation>蓝色 = 低，橙色 = 高</translation>
    </message>
    <message>
        <source>model output after epoch {epoch} ({legend})</source>
        <translation>第 {epoch} 轮后的模型输出（{legend}）</translation>
    </message>
</context>
<context>
    <name>Drops</name>
    <message>
        <source>Cannot open {name} here: drop a project (.nnsp), an ONNX model (.onnx), a table (.csv, .xlsx), an .npz file or a folder of images in class sub-folders</source>
        <translation>无法在这里打开 {name}：请拖放项目（.nnsp）、ONNX 模型（.onnx）、表格（.csv、.xlsx）、.npz 文件或按类别分子文件夹的图像文件夹</translation>
    </message>
    <message>
        <source>{name}: stop the training first</source>
        <translation>{name}：请先停止训练</translation>
    </message>
    <message>
        <source>{name} is the data source now (Data panel)</source>
        <translation>{name} 现在是数据来源（数据面板）</translation>
    </message>
</context>
<context>
    <name>EvaluationPanel</name>
    <message>
        <source>train the model first</source>
        <translation>请先训练模型</translation>
    </message>
    <message>
        <source>Evaluate on test split</source>
        <translation>在测试集上评估</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Stop this evaluation (the shown results stay as they were)</source>
        <translation>停止本次评估（已显示的结果保持不变）</translation>
    </message>
    <message>
        <source>class</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>precision</source>
        <translation>精确率</translation>
    </message>
    <message>
        <source>recall</source>
        <translation>召回率</translation>
    </message>
    <message>
        <source>F1</source>
        <translation>F1</translation>
    </message>
    <message>
        <source>support</source>
        <translation>样本数</translation>
    </message>
    <message>
        <source>precision: of the samples predicted as this class, the share that really are; recall: of the samples of this class, the share found; F1: their harmonic mean; support: samples of this class</source>
        <translation>精确率：被预测为该类别的样本中真正属于该类别的比例；召回率：该类别的样本中被找出的比例；F1：二者的调和平均；样本数：该类别的样本数量</translation>
    </message>
    <message>
        <source>Most confident mistakes (true → predicted, confidence)</source>
        <translation>置信度最高的错误（真实 → 预测，置信度）</translation>
    </message>
    <message>
        <source>true value</source>
        <translation>真实值</translation>
    </message>
    <message>
        <source>predicted value</source>
        <translation>预测值</translation>
    </message>
    <message>
        <source>each point is one sample; on the dashed line the prediction is exact</source>
        <translation>每个点是一个样本；落在虚线上表示预测完全准确</translation>
    </message>
    <message>
        <source>Results appear here after you press “Evaluate on test split”.</source>
        <translation>点击“在测试集上评估”后，结果显示在这里。</translation>
    </message>
    <message>
        <source>Not available: {why}.</source>
        <translation>不可用：{why}。</translation>
    </message>
    <message>
        <source>evaluating…</source>
        <translation>正在评估…</translation>
    </message>
    <message>
        <source>Not available: {why}</source>
        <translation>不可用：{why}</translation>
    </message>
    <message>
        <source>Measure the trained model on data it was not trained on (the test split, or the validation split when there is no test split)</source>
        <translation>在模型训练时没有用过的数据上衡量它（测试集；没有测试集时用验证集）</translation>
    </message>
    <message>
        <source>The model changed since this evaluation: evaluate again to update.</source>
        <translation>模型在本次评估之后已改变：请重新评估以更新结果。</translation>
    </message>
    <message>
        <source>&lt;b&gt;{where}&lt;/b&gt;: accuracy &lt;b&gt;{acc}%&lt;/b&gt; · loss {loss} · macro F1 {f1}</source>
        <translation>&lt;b&gt;{where}&lt;/b&gt;：准确率 &lt;b&gt;{acc}%&lt;/b&gt; · 损失 {loss} · 宏平均 F1 {f1}</translation>
    </message>
    <message>
        <source>macro average</source>
        <translation>宏平均</translation>
    </message>
    <message>
        <source>Confusion matrix (rows: true class, columns: predicted; green: right, red: wrong)</source>
        <translation>混淆矩阵（行：真实类别，列：预测类别；绿色：正确，红色：错误）</translation>
    </message>
    <message>
        <source>true class {true}, predicted {pred} with {pct}% confidence</source>
        <translation>真实类别 {true}，以 {pct}% 的置信度预测为 {pred}</translation>
    </message>
    <message>
        <source>Most confident mistakes ({n} of {total}): true → predicted, confidence</source>
        <translation>置信度最高的错误（共 {total} 个中的 {n} 个）：真实 → 预测，置信度</translation>
    </message>
    <message>
        <source>Most confident mistakes: true → predicted, confidence</source>
        <translation>置信度最高的错误：真实 → 预测，置信度</translation>
    </message>
    <message>
        <source>No mistakes on this split.</source>
        <translation>在这部分数据上没有错误。</translation>
    </message>
    <message>
        <source>&lt;b&gt;{where}&lt;/b&gt;: MAE &lt;b&gt;{mae}&lt;/b&gt; · RMSE {rmse} · R² &lt;b&gt;{r2}&lt;/b&gt; · loss {loss}</source>
        <translation>&lt;b&gt;{where}&lt;/b&gt;：MAE &lt;b&gt;{mae}&lt;/b&gt; · RMSE {rmse} · R² &lt;b&gt;{r2}&lt;/b&gt; · 损失 {loss}</translation>
    </message>
    <message>
        <source>value</source>
        <translation>数值</translation>
    </message>
    <message>
        <source>actual</source>
        <translation>实际值</translation>
    </message>
    <message>
        <source>predicted</source>
        <translation>预测值</translation>
    </message>
    <message>
        <source>the forecast of each window against what really happened, in time order</source>
        <translation>按时间顺序对比每个窗口的预测与实际发生的值</translation>
    </message>
    <message>
        <source>The forecast to plot: a target column and how many steps ahead</source>
        <translation>要绘制的预测：目标列以及提前的步数</translation>
    </message>
    <message>
        <source>forecast</source>
        <translation>预测</translation>
    </message>
    <message>
        <source>time</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>row</source>
        <translation>行</translation>
    </message>
</context>
<context>
    <name>EvaluationUI</name>
    <message>
        <source>test split</source>
        <extracomment>regression points kept with a saved evaluation (the scatter plot of a reopened project)</extracomment>
        <translation>测试集</translation>
    </message>
    <message>
        <source>validation split</source>
        <translation>验证集</translation>
    </message>
    <message>
        <source>training split</source>
        <translation>训练集</translation>
    </message>
    <message>
        <source>{path} does not exist</source>
        <translation>{path} 不存在</translation>
    </message>
    <message>
        <source>Evaluate</source>
        <translation>评估</translation>
    </message>
    <message>
        <source>Predict</source>
        <translation>预测</translation>
    </message>
    <message>
        <source>Accuracy, per-class scores, confusion matrix and mistakes on held-out data</source>
        <translation>留出数据上的准确率、各类别得分、混淆矩阵和错误样本</translation>
    </message>
    <message>
        <source>Ask the trained model about new rows, images or files</source>
        <translation>用训练好的模型预测新的数据行、图像或文件</translation>
    </message>
    <message>
        <source>&amp;Evaluate on test split</source>
        <translation>在测试集上评估(&amp;E)</translation>
    </message>
    <message>
        <source>the model has several inputs; evaluate and predict it from the command line</source>
        <translation>模型有多个输入；请在命令行中评估和预测</translation>
    </message>
    <message>
        <source>no data set is recorded with this project (for example after importing weights): choose one in the Data panel and train</source>
        <translation>这个项目没有记录数据集（例如导入权重之后）：请在数据面板中选择一个数据集并训练</translation>
    </message>
    <message>
        <source>the project has no saved preprocessing: train the model on a data set first</source>
        <translation>项目中没有保存的预处理：请先在数据集上训练模型</translation>
    </message>
    <message>
        <source>the Input layer expects {want} but the saved preprocessing gives {have}; train again on the current data</source>
        <translation>输入层需要 {want}，但保存的预处理给出 {have}；请在当前数据上重新训练</translation>
    </message>
    <message>
        <source>Cannot evaluate: {why}</source>
        <translation>无法评估：{why}</translation>
    </message>
    <message>
        <source>Measure the trained model on the test split</source>
        <translation>在测试集上衡量训练好的模型</translation>
    </message>
    <message>
        <source>Saved with the project: evaluate again to update.</source>
        <translation>随项目保存的结果：重新评估即可更新。</translation>
    </message>
    <message>
        <source>loading the data…</source>
        <translation>正在载入数据…</translation>
    </message>
    <message>
        <source>Open an image to predict</source>
        <translation>打开要预测的图像</translation>
    </message>
    <message>
        <source>Images ({pattern})</source>
        <translation>图像（{pattern}）</translation>
    </message>
    <message>
        <source>Folder of images to predict</source>
        <translation>要预测的图像文件夹</translation>
    </message>
    <message>
        <source>CSV file to predict</source>
        <translation>要预测的 CSV 文件</translation>
    </message>
    <message>
        <source>CSV files (*.csv *.tsv *.txt);;All files (*)</source>
        <translation>CSV 文件 (*.csv *.tsv *.txt);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Write the predictions to</source>
        <translation>预测结果写入</translation>
    </message>
    <message>
        <source>CSV files (*.csv)</source>
        <translation>CSV 文件 (*.csv)</translation>
    </message>
    <message>
        <source>evaluation cancelled</source>
        <translation>评估已取消</translation>
    </message>
    <message>
        <source>predicting {file}…</source>
        <translation>正在预测 {file}…</translation>
    </message>
    <message>
        <source>{what}…</source>
        <translation>{what}…</translation>
    </message>
    <message>
        <source>evaluated on the {split}</source>
        <translation>已在{split}上评估</translation>
    </message>
    <message>
        <source>Wrote {n} predictions to {file}</source>
        <translation>已将 {n} 条预测写入 {file}</translation>
    </message>
    <message>
        <source>Evaluation failed: {reason}</source>
        <translation>评估失败：{reason}</translation>
    </message>
</context>
<context>
    <name>ExplainPanel</name>
    <message>
        <source>Analyze</source>
        <translation>分析</translation>
    </message>
    <message>
        <source>Per layer: output shape, parameters, multiply-adds and memory; after training also dead units, saturation and gradient problems</source>
        <translation>逐层列出输出形状、参数量、乘加次数和内存；训练后还会检查死亡单元、饱和以及梯度问题</translation>
    </message>
    <message>
        <source>Explain sample</source>
        <translation>解释样本</translation>
    </message>
    <message>
        <source>Run the chosen sample through the trained model: every layer&apos;s output, which inputs drove the prediction, and feature importance</source>
        <translation>用训练好的模型处理所选样本：显示每一层的输出、哪些输入决定了预测，以及特征重要性</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>validation</source>
        <translation>验证集</translation>
    </message>
    <message>
        <source>training</source>
        <translation>训练集</translation>
    </message>
    <message>
        <source>test</source>
        <translation>测试集</translation>
    </message>
    <message>
        <source>Split the sample (and the rows for feature importance) come from</source>
        <translation>样本（以及计算特征重要性所用的行）所在的数据划分</translation>
    </message>
    <message>
        <source>Row of that split to explain (0 is the first)</source>
        <translation>要解释的该划分中的行号（0 为第一行）</translation>
    </message>
    <message>
        <source>Class whose score is explained</source>
        <translation>要解释其得分的类别</translation>
    </message>
    <message>
        <source>Integrated gradients</source>
        <translation>积分梯度</translation>
    </message>
    <message>
        <source>Gradient × input</source>
        <translation>梯度 × 输入</translation>
    </message>
    <message>
        <source>Integrated gradients add up to the change of the score from the baseline to the input; gradient × input is faster and local</source>
        <translation>积分梯度的归因之和等于得分从基线到输入的变化量；梯度 × 输入更快，但只反映局部</translation>
    </message>
    <message>
        <source>zeros</source>
        <translation>全零</translation>
    </message>
    <message>
        <source>mean sample</source>
        <translation>平均样本</translation>
    </message>
    <message>
        <source>blurred image</source>
        <translation>模糊图像</translation>
    </message>
    <message>
        <source>Starting point of integrated gradients: all zeros, the average training sample, or a blurred copy of the image</source>
        <translation>积分梯度的起点：全零、训练集的平均样本，或图像的模糊副本</translation>
    </message>
    <message>
        <source>Integration steps; more steps, more exact attributions</source>
        <translation>积分步数；步数越多，归因越精确</translation>
    </message>
    <message>
        <source>Feature importance</source>
        <translation>特征重要性</translation>
    </message>
    <message>
        <source>Permutation importance of each column (table data only)</source>
        <translation>每一列的置换重要性（仅适用于表格数据）</translation>
    </message>
    <message>
        <source>Sample</source>
        <translation>样本</translation>
    </message>
    <message>
        <source>Class</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>Method</source>
        <translation>方法</translation>
    </message>
    <message>
        <source>Baseline</source>
        <translation>基线</translation>
    </message>
    <message>
        <source>Steps</source>
        <translation>步数</translation>
    </message>
    <message>
        <source>layer</source>
        <translation>层</translation>
    </message>
    <message>
        <source>type</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>output shape</source>
        <translation>输出形状</translation>
    </message>
    <message>
        <source>parameters</source>
        <translation>参数量</translation>
    </message>
    <message>
        <source>trainable</source>
        <translation>可训练</translation>
    </message>
    <message>
        <source>multiply-adds</source>
        <translation>乘加次数</translation>
    </message>
    <message>
        <source>activation memory</source>
        <translation>激活内存</translation>
    </message>
    <message>
        <source>warnings</source>
        <translation>警告</translation>
    </message>
    <message>
        <source>Layer whose output is shown (or click a layer on the canvas)</source>
        <translation>显示其输出的层（也可以在画布上点击一层）</translation>
    </message>
    <message>
        <source>Layer</source>
        <translation>层</translation>
    </message>
    <message>
        <source>Layers</source>
        <translation>各层</translation>
    </message>
    <message>
        <source>Activations</source>
        <translation>激活值</translation>
    </message>
    <message>
        <source>Saliency</source>
        <translation>显著性</translation>
    </message>
    <message>
        <source>Importance</source>
        <translation>重要性</translation>
    </message>
    <message>
        <source>Cannot explain: {why}</source>
        <translation>无法解释：{why}</translation>
    </message>
    <message>
        <source>predicted class</source>
        <translation>预测的类别</translation>
    </message>
    <message>
        <source>Total: {params} parameters ({trainable} trainable), {macs} multiply-adds per sample, {memory} of layer outputs for a batch of {batch}</source>
        <translation>合计：{params} 个参数（{trainable} 个可训练），每个样本 {macs} 次乘加，批大小为 {batch} 时各层输出共占 {memory}</translation>
    </message>
    <message>
        <source>Checked on {rows} rows of the data; {n} warnings</source>
        <translation>已用数据中的 {rows} 行检查；{n} 条警告</translation>
    </message>
    <message>
        <source>Train the model to check it for dead units, saturation and gradient problems</source>
        <translation>训练模型后即可检查死亡单元、饱和以及梯度问题</translation>
    </message>
    <message>
        <source>{k} of {n} feature maps of {h}×{w}, one colour scale from {lo:.3g} to {hi:.3g}</source>
        <translation>{n} 个 {h}×{w} 特征图中的 {k} 个，统一色标，从 {lo:.3g} 到 {hi:.3g}</translation>
    </message>
    <message>
        <source>{length} positions (rows) × {d} features (columns), from {lo:.3g} to {hi:.3g}</source>
        <translation>{length} 个位置（行）× {d} 个特征（列），从 {lo:.3g} 到 {hi:.3g}</translation>
    </message>
    <message>
        <source>{n} values</source>
        <translation>{n} 个值</translation>
    </message>
    <message>
        <source>{n} values as a strip, from {lo:.3g} to {hi:.3g}</source>
        <translation>{n} 个值显示为色条，从 {lo:.3g} 到 {hi:.3g}</translation>
    </message>
    <message>
        <source>Attention weights of {h} heads (row: position that looks, column: position looked at)</source>
        <translation>{h} 个头的注意力权重（行：发起关注的位置，列：被关注的位置）</translation>
    </message>
    <message>
        <source>Each unit&apos;s output over the input plane (x across, y up)</source>
        <translation>每个单元在输入平面上的输出（x 向右，y 向上）</translation>
    </message>
    <message>
        <source>output {i}</source>
        <translation>输出 {i}</translation>
    </message>
    <message>
        <source>Integrated gradients for class {cls}: red raised its score, blue lowered it. Attributions sum to {sum:.4g}; score {fx:.4g} at the input, {fb:.4g} at the baseline (gap {delta:.2g})</source>
        <translation>类别 {cls} 的积分梯度：红色提高了其得分，蓝色降低了得分。归因之和为 {sum:.4g}；输入处得分 {fx:.4g}，基线处得分 {fb:.4g}（差距 {delta:.2g}）</translation>
    </message>
    <message>
        <source>Gradient × input for class {cls}: red raised its score, blue lowered it (score {fx:.4g})</source>
        <translation>类别 {cls} 的梯度 × 输入：红色提高了其得分，蓝色降低了得分（得分 {fx:.4g}）</translation>
    </message>
    <message>
        <source>Feature importance is computed for table data</source>
        <translation>特征重要性只针对表格数据计算</translation>
    </message>
    <message>
        <source>loss</source>
        <translation>损失</translation>
    </message>
    <message>
        <source>accuracy</source>
        <translation>准确率</translation>
    </message>
    <message>
        <source>mean absolute error</source>
        <translation>平均绝对误差</translation>
    </message>
    <message>
        <source>root mean squared error</source>
        <translation>均方根误差</translation>
    </message>
    <message>
        <source>R²</source>
        <translation>R²</translation>
    </message>
    <message>
        <source>How much the {metric} worsens when one column is shuffled, on {rows} rows; mean of {repeats} repeats ± one standard deviation</source>
        <translation>打乱某一列后{metric}变差的程度，基于 {rows} 行；{repeats} 次重复的平均值 ± 一个标准差</translation>
    </message>
</context>
<context>
    <name>ExplainUI</name>
    <message>
        <source>loading the data</source>
        <translation>正在加载数据</translation>
    </message>
    <message>
        <source>the graph has a problem ({why})</source>
        <translation>网络图有问题（{why}）</translation>
    </message>
    <message>
        <source>the graph is empty</source>
        <translation>网络图是空的</translation>
    </message>
    <message>
        <source>the model has several inputs; explain it from the command line</source>
        <translation>该模型有多个输入；请在命令行中解释它</translation>
    </message>
    <message>
        <source>no data set is recorded with this project: choose one in the Data panel and train</source>
        <translation>此项目没有记录数据集：请在数据面板中选择一个并训练</translation>
    </message>
    <message>
        <source>The model changed since these results; analyze or explain again</source>
        <translation>模型在得出这些结果后已改变；请重新分析或解释</translation>
    </message>
    <message>
        <source>analysing the layers…</source>
        <translation>正在分析各层…</translation>
    </message>
    <message>
        <source>explaining the sample…</source>
        <translation>正在解释样本…</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <source>{what}…</source>
        <translation>{what}…</translation>
    </message>
    <message>
        <source>The data could not be loaded, so the checks were skipped: {reason}</source>
        <translation>无法加载数据，已跳过检查：{reason}</translation>
    </message>
    <message>
        <source>{layers} layers analysed, {n} warnings</source>
        <translation>已分析 {layers} 层，{n} 条警告</translation>
    </message>
    <message>
        <source>sample {i} of the {split} split explained</source>
        <translation>已解释{split}中的样本 {i}</translation>
    </message>
    <message>
        <source>validation</source>
        <translation>验证集</translation>
    </message>
    <message>
        <source>training</source>
        <translation>训练集</translation>
    </message>
    <message>
        <source>test</source>
        <translation>测试集</translation>
    </message>
    <message>
        <source>Analysis failed: {reason}</source>
        <translation>分析失败：{reason}</translation>
    </message>
</context>
<context>
    <name>ExportController</name>
    <message>
        <source>the graph has a problem ({why})</source>
        <translation>图有问题（{why}）</translation>
    </message>
    <message>
        <source>the graph is empty</source>
        <translation>图是空的</translation>
    </message>
    <message>
        <source>the model has no trained weights yet: train it first (Model ▸ Train)</source>
        <translation>模型还没有训练好的权重：请先训练（模型 ▸ 训练）</translation>
    </message>
    <message>
        <source>&amp;Import weights…</source>
        <translation>导入权重(&amp;I)…</translation>
    </message>
    <message>
        <source>Open an exported .npz or .safetensors file (with its .json metadata) as a new project</source>
        <translation>把导出的 .npz 或 .safetensors 文件（连同其 .json 元数据）作为新项目打开</translation>
    </message>
    <message>
        <source>&amp;Export</source>
        <translation>导出(&amp;E)</translation>
    </message>
    <message>
        <source>Cannot export: {why}</source>
        <translation>无法导出：{why}</translation>
    </message>
    <message>
        <source>exporting {format} to {path}…</source>
        <translation>正在把 {format} 导出到 {path}…</translation>
    </message>
    <message>
        <source>importing {path}…</source>
        <translation>正在导入 {path}…</translation>
    </message>
    <message>
        <source>Exported {format}: {names} (in {folder})</source>
        <translation>已导出 {format}：{names}（位于 {folder}）</translation>
    </message>
    <message>
        <source>Imported {file}: graph, weights and preprocessing restored (save it as a project to keep it)</source>
        <translation>已导入 {file}：图、权重和预处理均已恢复（另存为项目即可保留）</translation>
    </message>
    <message>
        <source>Export failed: {reason}</source>
        <translation>导出失败：{reason}</translation>
    </message>
    <message>
        <source>Export failed</source>
        <translation>导出失败</translation>
    </message>
    <message>
        <source>{reason}

The model in NN Studio is unchanged.</source>
        <translation>{reason}

NN Studio 中的模型没有改变。</translation>
    </message>
    <message>
        <source>Import failed: {reason}</source>
        <translation>导入失败：{reason}</translation>
    </message>
    <message>
        <source>Cannot import weights</source>
        <translation>无法导入权重</translation>
    </message>
</context>
<context>
    <name>ExportDialog</name>
    <message>
        <source>Weights (.&amp;npz)…</source>
        <translation>权重 (.npz)(&amp;N)…</translation>
    </message>
    <message>
        <source>NumPy .npz: one float32 array per parameter plus the metadata (graph, preprocessing, class names); loads with np.load(..., allow_pickle=False)</source>
        <translation>NumPy .npz：每个参数一个 float32 数组，外加元数据（图、预处理、类别名）；可用 np.load(..., allow_pickle=False) 载入</translation>
    </message>
    <message>
        <source>NumPy weights (*.npz)</source>
        <translation>NumPy 权重 (*.npz)</translation>
    </message>
    <message>
        <source>Weights (.&amp;safetensors)…</source>
        <translation>权重 (.safetensors)(&amp;S)…</translation>
    </message>
    <message>
        <source>safetensors: the weights with the metadata in the header; loads without running any code</source>
        <translation>safetensors：权重，元数据在文件头中；载入时不执行任何代码</translation>
    </message>
    <message>
        <source>safetensors weights (*.safetensors)</source>
        <translation>safetensors 权重 (*.safetensors)</translation>
    </message>
    <message>
        <source>&amp;ONNX model…</source>
        <translation>ONNX 模型(&amp;O)…</translation>
    </message>
    <message>
        <source>ONNX graph and weights (opset 17): runs in onnxruntime and most deployment tools</source>
        <translation>ONNX 计算图和权重（opset 17）：可在 onnxruntime 和大多数部署工具中运行</translation>
    </message>
    <message>
        <source>ONNX model (*.onnx)</source>
        <translation>ONNX 模型 (*.onnx)</translation>
    </message>
    <message>
        <source>&amp;PyTorch code…</source>
        <translation>PyTorch 代码(&amp;P)…</translation>
    </message>
    <message>
        <source>a folder with a PyTorch nn.Module (model.py), its weights and a torchrun training script (train_ddp.py)</source>
        <translation>一个文件夹，包含 PyTorch nn.Module（model.py）、它的权重和一个 torchrun 训练脚本（train_ddp.py）</translation>
    </message>
    <message>
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <source>Exported NN Studio weights (*.npz *.safetensors)</source>
        <translation>导出的 NN Studio 权重 (*.npz *.safetensors)</translation>
    </message>
</context>
<context>
    <name>FitToDataUI</name>
    <message>
        <source>The graph does not fit the loaded data ({data}). Fit it? {changes}</source>
        <translation>图与已载入的数据（{data}）不匹配。要自动适配吗？{changes}</translation>
    </message>
    <message>
        <source>Fit graph to data</source>
        <translation>使图适配数据</translation>
    </message>
    <message>
        <source>Load a data set first (Data panel), then fit the graph to it</source>
        <translation>请先载入数据集（数据面板），再让图适配它</translation>
    </message>
    <message>
        <source>The graph already fits the data</source>
        <translation>图已经与数据匹配</translation>
    </message>
    <message>
        <source>Cannot fit the graph automatically: {why}</source>
        <translation>无法自动适配图：{why}</translation>
    </message>
    <message>
        <source>Fitted the graph to the data: {changes}.</source>
        <translation>已使图适配数据：{changes}。</translation>
    </message>
    <message>
        <source>Still to fix: {why}</source>
        <translation>仍需修正：{why}</translation>
    </message>
    <message>
        <source>Undo</source>
        <translation>撤销</translation>
    </message>
</context>
<context>
    <name>GraphController</name>
    <message>
        <source>Add {layer}</source>
        <extracomment>node ids the views should select after an edit (new or pasted nodes)</extracomment>
        <translation>添加{layer}</translation>
    </message>
    <message>
        <source>Add {layer} after {node}</source>
        <translation>在 {node} 之后添加{layer}</translation>
    </message>
    <message>
        <source>Added {layer} ({id})</source>
        <translation>已添加{layer}（{id}）</translation>
    </message>
    <message>
        <source>Cannot connect: {reason}</source>
        <translation>无法连接：{reason}</translation>
    </message>
    <message>
        <source>Connect {src} → {dst}</source>
        <translation>连接 {src} → {dst}</translation>
    </message>
    <message>
        <source>Connected, but: {reason}</source>
        <translation>已连接，但是：{reason}</translation>
    </message>
    <message>
        <source>Connected (replaced the previous input of {node})</source>
        <translation>已连接（替换了 {node} 原来的输入）</translation>
    </message>
    <message>
        <source>Connected {src} → {dst}</source>
        <translation>已连接 {src} → {dst}</translation>
    </message>
    <message>
        <source>Delete {n} layer(s) and {m} connection(s)</source>
        <translation>删除 {n} 个层和 {m} 条连接</translation>
    </message>
    <message>
        <source>Delete layer</source>
        <translation>删除层</translation>
    </message>
    <message>
        <source>Delete {n} layers</source>
        <translation>删除 {n} 个层</translation>
    </message>
    <message>
        <source>Delete connection</source>
        <translation>删除连接</translation>
    </message>
    <message>
        <source>Delete {m} connections</source>
        <translation>删除 {m} 条连接</translation>
    </message>
    <message>
        <source>Delete nothing</source>
        <translation>未删除任何内容</translation>
    </message>
    <message>
        <source>Cannot insert: that connection no longer exists</source>
        <translation>无法插入：该连接已不存在</translation>
    </message>
    <message>
        <source>Cannot insert {layer} into a connection: it takes no input</source>
        <translation>无法把{layer}插入连接：它不接受输入</translation>
    </message>
    <message>
        <source>Insert {layer} between {src} and {dst}</source>
        <translation>在 {src} 和 {dst} 之间插入{layer}</translation>
    </message>
    <message>
        <source>Inserted {layer}, but: {reason}</source>
        <translation>已插入{layer}，但是：{reason}</translation>
    </message>
    <message>
        <source>Inserted {layer} ({id}) between {src} and {dst}</source>
        <translation>已在 {src} 和 {dst} 之间插入{layer}（{id}）</translation>
    </message>
    <message>
        <source>Nothing to disconnect: the layer has no connections</source>
        <translation>没有可断开的连接：该层没有任何连接</translation>
    </message>
    <message>
        <source>Disconnect {nodes}</source>
        <translation>断开 {nodes} 的连接</translation>
    </message>
    <message>
        <source>Removed {m} connection(s) of {nodes}</source>
        <translation>已移除 {nodes} 的 {m} 条连接</translation>
    </message>
    <message>
        <source>Set {field} of {node}</source>
        <translation>设置 {node} 的 {field}</translation>
    </message>
    <message>
        <source>Rename {node} to {name}</source>
        <translation>将 {node} 重命名为 {name}</translation>
    </message>
    <message>
        <source>Template: {template}</source>
        <translation>模板：{template}</translation>
    </message>
    <message>
        <source>Loaded the {template} template — {description}</source>
        <translation>已载入“{template}”模板 — {description}</translation>
    </message>
    <message>
        <source>Fit graph to data</source>
        <translation>使图适配数据</translation>
    </message>
    <message>
        <source>Auto-layout</source>
        <translation>自动布局</translation>
    </message>
    <message>
        <source>Nothing to copy: select one or more layers</source>
        <translation>没有可复制的内容：请选择一个或多个层</translation>
    </message>
    <message>
        <source>Copied {n} layer(s)</source>
        <translation>已复制 {n} 个层</translation>
    </message>
    <message>
        <source>Nothing to paste</source>
        <translation>没有可粘贴的内容</translation>
    </message>
    <message>
        <source>The clipboard does not hold NN Studio layers</source>
        <translation>剪贴板中没有 NN Studio 的层</translation>
    </message>
    <message>
        <source>Duplicate {n} layer(s)</source>
        <translation>为 {n} 个层创建副本</translation>
    </message>
    <message>
        <source>Paste {n} layer(s)</source>
        <translation>粘贴 {n} 个层</translation>
    </message>
    <message>
        <source>Nothing to duplicate: select one or more layers</source>
        <translation>没有可创建副本的内容：请选择一个或多个层</translation>
    </message>
</context>
<context>
    <name>GraphScene</name>
    <message>
        <source>out {shape}</source>
        <translation>输出 {shape}</translation>
    </message>
</context>
<context>
    <name>GraphView</name>
    <message>
        <source>Drag a layer from the palette on the left (or double-click it) to start.
Start with an Input layer, then connect layers by dragging from the bottom
port of one layer to the top port of the next. Templates are in the Templates menu.</source>
        <translation>从左侧的层面板中拖出一个层（或双击它）即可开始。
先放一个输入层，再从一个层底部的端口拖到下一个层顶部的端口，把层连接起来。
现成的网络在“模板”菜单中。</translation>
    </message>
    <message>
        <source>Drawing {n} layers…</source>
        <translation>正在绘制 {n} 个层…</translation>
    </message>
    <message>
        <source>Add layer here</source>
        <translation>在此处添加层</translation>
    </message>
    <message>
        <source>Paste here</source>
        <translation>粘贴到此处</translation>
    </message>
    <message>
        <source>Select all</source>
        <translation>全选</translation>
    </message>
    <message>
        <source>Auto-layout</source>
        <translation>自动布局</translation>
    </message>
    <message>
        <source>Zoom to fit</source>
        <translation>缩放到适合</translation>
    </message>
    <message>
        <source>Properties</source>
        <translation>属性</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <source>Copy {n} layers</source>
        <translation>复制 {n} 个层</translation>
    </message>
    <message>
        <source>Duplicate</source>
        <translation>再制</translation>
    </message>
    <message>
        <source>Duplicate {n} layers</source>
        <translation>再制 {n} 个层</translation>
    </message>
    <message>
        <source>Disconnect</source>
        <translation>断开连接</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <source>Delete {n} layers</source>
        <translation>删除 {n} 个层</translation>
    </message>
    <message>
        <source>Insert layer here</source>
        <translation>在此处插入层</translation>
    </message>
    <message>
        <source>Delete connection</source>
        <translation>删除连接</translation>
    </message>
</context>
<context>
    <name>Help</name>
    <message>
        <source>system</source>
        <translation>系统</translation>
    </message>
    <message>
        <source>data and autosave</source>
        <translation>数据和自动保存</translation>
    </message>
    <message>
        <source>cache</source>
        <translation>缓存</translation>
    </message>
    <message>
        <source>logs</source>
        <translation>日志</translation>
    </message>
    <message>
        <source>none (not writable)</source>
        <translation>无（不可写）</translation>
    </message>
    <message>
        <source>Keyboard shortcuts</source>
        <translation>键盘快捷键</translation>
    </message>
    <message>
        <source>Command</source>
        <translation>命令</translation>
    </message>
    <message>
        <source>Shortcut</source>
        <translation>快捷键</translation>
    </message>
    <message>
        <source>Build, train and export neural networks without writing code.</source>
        <translation>无需编写代码即可构建、训练和导出神经网络。</translation>
    </message>
    <message>
        <source>Folders</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <source>Include these lines when you report a problem.</source>
        <translation>报告问题时请附上这些内容。</translation>
    </message>
    <message>
        <source>About NN Studio</source>
        <translation>关于 NN Studio</translation>
    </message>
    <message>
        <source>Documentation</source>
        <translation>文档</translation>
    </message>
    <message>
        <source>The documentation is the docs/ folder and README.md of NN Studio&apos;s source; this installation has no copy of it here ({path}).</source>
        <translation>文档是 NN Studio 源代码中的 docs/ 文件夹和 README.md；此安装中没有它们的副本（{path}）。</translation>
    </message>
    <message>
        <source>&amp;Keyboard shortcuts</source>
        <translation>键盘快捷键(&amp;K)</translation>
    </message>
    <message>
        <source>&amp;Documentation folder</source>
        <translation>文档文件夹(&amp;D)</translation>
    </message>
    <message>
        <source>&amp;About NN Studio</source>
        <translation>关于 NN Studio(&amp;A)</translation>
    </message>
</context>
<context>
    <name>Language</name>
    <message>
        <source>&amp;Language</source>
        <translation>语言(&amp;L)</translation>
    </message>
    <message>
        <source>System default</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <source>NN Studio will use {language} the next time it starts. Restart NN Studio to switch now.</source>
        <translation>NN Studio 下次启动时将使用{language}。要立即切换，请重新启动 NN Studio。</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
</context>
<context>
    <name>LayerPalette</name>
    <message>
        <source>Drag onto the canvas or double-click to add.</source>
        <translation>拖到画布上或双击即可添加。</translation>
    </message>
    <message>
        <source>Search layers…</source>
        <translation>搜索层…</translation>
    </message>
</context>
<context>
    <name>Layout</name>
    <message>
        <source>Reset &amp;layout</source>
        <translation>重置布局(&amp;L)</translation>
    </message>
    <message>
        <source>Put the panels back where they start and fit the window to the screen</source>
        <translation>把各面板放回初始位置，并让窗口适应屏幕</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>&amp;Fit graph to data</source>
        <translation>使图适配数据(&amp;F)</translation>
    </message>
    <message>
        <source>Set the Input shape and the output layer to fit the loaded data (one undo step)</source>
        <translation>按已载入的数据设置输入层形状和输出层（可一步撤销）</translation>
    </message>
    <message>
        <source>does not fit the data: {why}</source>
        <translation>与数据不匹配：{why}</translation>
    </message>
    <message>
        <source>{text} (or Model ▸ Fit graph to data)</source>
        <translation>{text}（或使用 模型 ▸ 使图适配数据）</translation>
    </message>
    <message>
        <source>Cannot train: {why}</source>
        <translation>无法训练：{why}</translation>
    </message>
    <message>
        <source>&amp;New</source>
        <translation>新建(&amp;N)</translation>
    </message>
    <message>
        <source>Start a new empty project</source>
        <translation>新建一个空项目</translation>
    </message>
    <message>
        <source>&amp;Open…</source>
        <translation>打开(&amp;O)…</translation>
    </message>
    <message>
        <source>Open a project file</source>
        <translation>打开项目文件</translation>
    </message>
    <message>
        <source>&amp;Save</source>
        <translation>保存(&amp;S)</translation>
    </message>
    <message>
        <source>Save the project</source>
        <translation>保存项目</translation>
    </message>
    <message>
        <source>Save &amp;As…</source>
        <translation>另存为(&amp;A)…</translation>
    </message>
    <message>
        <source>Save the project under a new name</source>
        <translation>以新名称保存项目</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>Quit NN Studio</source>
        <translation>退出 NN Studio</translation>
    </message>
    <message>
        <source>&amp;Undo</source>
        <translation>撤销(&amp;U)</translation>
    </message>
    <message>
        <source>&amp;Redo</source>
        <translation>重做(&amp;R)</translation>
    </message>
    <message>
        <source>&amp;Copy</source>
        <translation>复制(&amp;C)</translation>
    </message>
    <message>
        <source>Copy the selected layers</source>
        <translation>复制选中的层</translation>
    </message>
    <message>
        <source>&amp;Paste</source>
        <translation>粘贴(&amp;P)</translation>
    </message>
    <message>
        <source>Paste layers (at the mouse pointer when it is over the canvas)</source>
        <translation>粘贴层（鼠标指针在画布上时粘贴到指针处）</translation>
    </message>
    <message>
        <source>D&amp;uplicate</source>
        <translation>创建副本(&amp;U)</translation>
    </message>
    <message>
        <source>Duplicate the selected layers</source>
        <translation>为选中的层创建副本</translation>
    </message>
    <message>
        <source>&amp;Delete</source>
        <translation>删除(&amp;D)</translation>
    </message>
    <message>
        <source>Delete the selected layers and connections</source>
        <translation>删除选中的层和连接</translation>
    </message>
    <message>
        <source>Select &amp;All</source>
        <translation>全选(&amp;A)</translation>
    </message>
    <message>
        <source>Select every layer</source>
        <translation>选中所有层</translation>
    </message>
    <message>
        <source>Zoom &amp;In</source>
        <translation>放大(&amp;I)</translation>
    </message>
    <message>
        <source>Zoom in</source>
        <translation>放大</translation>
    </message>
    <message>
        <source>Zoom &amp;Out</source>
        <translation>缩小(&amp;O)</translation>
    </message>
    <message>
        <source>Zoom out</source>
        <translation>缩小</translation>
    </message>
    <message>
        <source>Zoom to &amp;Fit</source>
        <translation>缩放到适合(&amp;F)</translation>
    </message>
    <message>
        <source>Show the whole graph</source>
        <translation>显示整个图</translation>
    </message>
    <message>
        <source>&amp;Reset View</source>
        <translation>重置视图(&amp;R)</translation>
    </message>
    <message>
        <source>100% zoom, centred on the graph</source>
        <translation>100% 缩放，以图为中心</translation>
    </message>
    <message>
        <source>&amp;Auto-layout</source>
        <translation>自动布局(&amp;A)</translation>
    </message>
    <message>
        <source>Arrange layers top to bottom by depth</source>
        <translation>按深度从上到下排列各层</translation>
    </message>
    <message>
        <source>&amp;Train</source>
        <translation>训练(&amp;T)</translation>
    </message>
    <message>
        <source>Train the model</source>
        <translation>训练模型</translation>
    </message>
    <message>
        <source>Open &amp;Recent</source>
        <translation>最近打开(&amp;R)</translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation>编辑(&amp;E)</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <source>T&amp;emplates</source>
        <translation>模板(&amp;E)</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <source>&amp;Getting started</source>
        <translation>入门(&amp;G)</translation>
    </message>
    <message>
        <source>Main toolbar</source>
        <translation>主工具栏</translation>
    </message>
    <message>
        <source>Clear list</source>
        <translation>清空列表</translation>
    </message>
    <message>
        <source>Train the model (F5)</source>
        <translation>训练模型（F5）</translation>
    </message>
    <message>
        <source>{n} layers · {params} parameters · ready to train</source>
        <translation>{n} 个层 · {params} 个参数 · 可以训练</translation>
    </message>
    <message>
        <source>{n} layers · not trainable yet</source>
        <translation>{n} 个层 · 尚不能训练</translation>
    </message>
    <message>
        <source>{n} layers · {text}</source>
        <translation>{n} 个层 · {text}</translation>
    </message>
    <message>
        <source>untitled</source>
        <translation>未命名</translation>
    </message>
    <message>
        <source>Build the network
1. Pick a template (Templates menu) or drag layers from the Layers palette onto the canvas (or double-click them); start with an Input layer.
2. Connect a layer&apos;s bottom port to the next layer&apos;s top port; drop a layer on a connection to insert it there. Right-click a layer, a connection or the canvas for more.
3. Select a layer to edit its settings on the right; shapes update live. A red badge marks a layer with a problem: hover it to read why.

Load the data
4. In the Data panel choose a built-in sample, a CSV or Excel file, a folder of images (one sub-folder per class) or an .npz file (or drop it on the window); for a table pick the target column and the feature columns, then press Load data.
5. When the graph does not fit the data, the bar above the canvas offers Fit graph to data (Input shape and output layer, one undo step).

Train and evaluate
6. Set epochs, batch size, optimizer and learning rate in the Training panel and press Train (F5); Pause (F6), Stop (Shift+F5) and Step one epoch (F10) work while it runs, and the Training plots show the loss and metric live.
7. Model ▸ Evaluate on test split measures the trained model; the Predict tab asks it about new rows or images; File ▸ Save keeps the graph, weights, settings, curves and evaluation.

Mouse: wheel zooms, middle button (or Alt+drag) pans, drag on empty space selects. Help ▸ Keyboard shortcuts lists the keys.</source>
        <translation>构建网络
1. 选择一个模板（“模板”菜单），或把层从“层”面板拖到画布上（或双击它们）；第一个层应是输入层。
2. 把一个层底部的端口连接到下一个层顶部的端口；把层拖放到一条连接上即可把它插入其中。右键单击层、连接或画布可使用更多操作。
3. 选中一个层，在右侧编辑它的设置；形状会实时更新。红色标记表示该层有问题：把鼠标悬停在上面即可查看原因。

载入数据
4. 在“数据”面板中选择内置示例、CSV 或 Excel 文件、图像文件夹（每个类别一个子文件夹）或 .npz 文件（也可以直接拖放到窗口上）；对于表格，选择目标列和特征列，然后点击“载入数据”。
5. 如果图与数据不匹配，画布上方的提示栏会提供“使图适配数据”（设置输入层形状和输出层，可一步撤销）。

训练与评估
6. 在“训练”面板中设置训练轮数、批大小、优化器和学习率，然后点击“训练”（F5）；训练过程中可以暂停（F6）、停止（Shift+F5）和单步训练一轮（F10），“训练图表”会实时显示损失和指标。
7. 模型 ▸ 在测试集上评估 可衡量训练好的模型；“预测”标签页可用模型预测新的数据行或图像；文件 ▸ 保存 会保存图、权重、设置、曲线和评估结果。

鼠标：滚轮缩放，中键（或 Alt+拖动）平移，在空白处拖动可框选。帮助 ▸ 键盘快捷键 列出所有按键。</translation>
    </message>
    <message>
        <source>Getting started</source>
        <translation>入门</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Model</source>
        <translation>模型(&amp;M)</translation>
    </message>
</context>
<context>
    <name>Metrics</name>
    <message>
        <source>loss</source>
        <extracomment>epoch curves show a dot per epoch up to this many epochs; beyond, lines only (dots would merge, and a scatter item&apos;s cost grows with every point on every redraw) the batch curves are decimated to about this many points before drawing (min/max per bucket) the logged values a person sees; in English the name is the key itself</extracomment>
        <translation>损失</translation>
    </message>
    <message>
        <source>val_loss</source>
        <translation>验证损失</translation>
    </message>
    <message>
        <source>accuracy</source>
        <translation>准确率</translation>
    </message>
    <message>
        <source>val_accuracy</source>
        <translation>验证准确率</translation>
    </message>
    <message>
        <source>mae</source>
        <translation>平均绝对误差</translation>
    </message>
    <message>
        <source>val_mae</source>
        <translation>验证平均绝对误差</translation>
    </message>
    <message>
        <source>rmse</source>
        <translation>均方根误差</translation>
    </message>
    <message>
        <source>val_rmse</source>
        <translation>验证均方根误差</translation>
    </message>
    <message>
        <source>mse</source>
        <translation>均方误差</translation>
    </message>
    <message>
        <source>val_mse</source>
        <translation>验证均方误差</translation>
    </message>
    <message>
        <source>r2</source>
        <translation>R²</translation>
    </message>
    <message>
        <source>val_r2</source>
        <translation>验证 R²</translation>
    </message>
    <message>
        <source>lr</source>
        <translation>学习率</translation>
    </message>
</context>
<context>
    <name>NodeItem</name>
    <message>
        <source>Problem:</source>
        <translation>问题：</translation>
    </message>
</context>
<context>
    <name>OfferBar</name>
    <message>
        <source>Dismiss</source>
        <translation>关闭</translation>
    </message>
</context>
<context>
    <name>OnnxImportUI</name>
    <message>
        <source>Import &amp;ONNX model…</source>
        <translation>导入 &amp;ONNX 模型…</translation>
    </message>
    <message>
        <source>Open an ONNX model (from PyTorch, Keras or NN Studio) as a new project: its layers on the canvas, with their weights</source>
        <translation>将 ONNX 模型（来自 PyTorch、Keras 或 NN Studio）作为新项目打开：各层连同权重显示在画布上</translation>
    </message>
    <message>
        <source>Import ONNX model</source>
        <translation>导入 ONNX 模型</translation>
    </message>
    <message>
        <source>ONNX models (*.onnx);;All files (*)</source>
        <translation>ONNX 模型 (*.onnx);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Stop the training before importing a model</source>
        <translation>请先停止训练，再导入模型</translation>
    </message>
    <message>
        <source>importing {path}…</source>
        <translation>正在导入 {path}…</translation>
    </message>
    <message>
        <source>Imported {file}: {n} layers with their weights (save it as a project to keep it)</source>
        <translation>已导入 {file}：{n} 个层及其权重（请另存为项目以保留）</translation>
    </message>
    <message>
        <source>ONNX model imported</source>
        <translation>已导入 ONNX 模型</translation>
    </message>
    <message>
        <source>{file} is on the canvas. Please note:

{notes}</source>
        <translation>{file} 已显示在画布上。请注意：

{notes}</translation>
    </message>
    <message>
        <source>Import failed: {reason}</source>
        <translation>导入失败：{reason}</translation>
    </message>
    <message>
        <source>Cannot import the ONNX model</source>
        <translation>无法导入该 ONNX 模型</translation>
    </message>
    <message>
        <source>{reason}

The project in NN Studio is unchanged.</source>
        <translation>{reason}

NN Studio 中的项目未作更改。</translation>
    </message>
</context>
<context>
    <name>Panels</name>
    <message>
        <source>Evaluate and predict</source>
        <translation>评估与预测</translation>
    </message>
    <message>
        <source>Layers</source>
        <translation>层</translation>
    </message>
    <message>
        <source>Properties</source>
        <translation>属性</translation>
    </message>
    <message>
        <source>Data</source>
        <translation>数据</translation>
    </message>
    <message>
        <source>Training</source>
        <translation>训练</translation>
    </message>
    <message>
        <source>Training plots</source>
        <translation>训练图表</translation>
    </message>
    <message>
        <source>Analyze</source>
        <translation>分析</translation>
    </message>
</context>
<context>
    <name>PortItem</name>
    <message>
        <source>Input (accepts several connections): drag from an output port onto it</source>
        <translation>输入（可接受多条连接）：从输出端口拖到这里</translation>
    </message>
    <message>
        <source>Input {n}: drag from an output port onto it</source>
        <translation>输入 {n}：从输出端口拖到这里</translation>
    </message>
    <message>
        <source>Output: drag onto another layer&apos;s input port to connect</source>
        <translation>输出：拖到另一个层的输入端口上即可连接</translation>
    </message>
</context>
<context>
    <name>PredictPanel</name>
    <message>
        <source>(missing)</source>
        <translation>（缺失）</translation>
    </message>
    <message>
        <source>train the model first</source>
        <translation>请先训练模型</translation>
    </message>
    <message>
        <source>Predict</source>
        <translation>预测</translation>
    </message>
    <message>
        <source>Run the model on the values above (empty number = the training mean)</source>
        <translation>用上面的值运行模型（数值留空 = 使用训练集均值）</translation>
    </message>
    <message>
        <source>Reset values</source>
        <translation>重置数值</translation>
    </message>
    <message>
        <source>Put back the typical (training mean) values</source>
        <translation>恢复为典型值（训练集均值）</translation>
    </message>
    <message>
        <source>Open image…</source>
        <translation>打开图像…</translation>
    </message>
    <message>
        <source>Choose an image file to classify (or drop one onto this panel)</source>
        <translation>选择要分类的图像文件（或把图像拖放到此面板）</translation>
    </message>
    <message>
        <source>drop an image here</source>
        <translation>把图像拖放到这里</translation>
    </message>
    <message>
        <source>what the model sees: the image resized and converted as in training</source>
        <translation>模型看到的图像：按训练时的方式缩放和转换</translation>
    </message>
    <message>
        <source>Train the model on a data set (Data and Training panels) to predict here.</source>
        <translation>先在数据集上训练模型（数据面板和训练面板），然后在这里预测。</translation>
    </message>
    <message>
        <source>Prediction</source>
        <translation>预测结果</translation>
    </message>
    <message>
        <source>Predict a CSV file…</source>
        <translation>预测 CSV 文件…</translation>
    </message>
    <message>
        <source>Predict every row of a file and write a CSV with the predictions</source>
        <translation>预测文件中的每一行，并把预测结果写入 CSV</translation>
    </message>
    <message>
        <source>Predict every row of a CSV file (same columns as the training data) and write a CSV with a prediction and the class probabilities per row</source>
        <translation>预测 CSV 文件（列与训练数据相同）中的每一行，并写出每行的预测和各类别概率</translation>
    </message>
    <message>
        <source>grayscale</source>
        <translation>灰度</translation>
    </message>
    <message>
        <source>colour</source>
        <translation>彩色</translation>
    </message>
    <message>
        <source>what the model sees: {h}×{w} {mode}, as in training</source>
        <translation>模型看到的图像：{h}×{w} {mode}，与训练时相同</translation>
    </message>
    <message>
        <source>Predict a folder of images…</source>
        <translation>预测图像文件夹…</translation>
    </message>
    <message>
        <source>Predict every image in a folder and write a CSV with one row per file</source>
        <translation>预测文件夹中的每张图像，并写出每个文件一行的 CSV</translation>
    </message>
    <message>
        <source>This model forecasts the next {h} step(s) from windows of {n} rows. Predict from a CSV file of at least {n} recent rows, oldest first, with the columns: {cols}.</source>
        <translation>该模型用 {n} 行的窗口预测接下来的 {h} 个时间步。请用至少包含 {n} 个最近行（最早的在前）的 CSV 文件进行预测，文件需包含以下列：{cols}。</translation>
    </message>
    <message>
        <source>Predict from recent rows (CSV)…</source>
        <translation>根据最近的行预测（CSV）…</translation>
    </message>
    <message>
        <source>Write a CSV with the forecast after every window of the file; its last line is the forecast after the file&apos;s last row</source>
        <translation>写出一个 CSV 文件，给出文件中每个窗口之后的预测；最后一行是文件最后一行之后的预测</translation>
    </message>
    <message>
        <source>{name}: one of the {n} categories seen in training ({missing} or an unseen value counts as none of them)</source>
        <translation>{name}：训练中出现过的 {n} 个类别之一（{missing}或未见过的值不属于其中任何一个）</translation>
    </message>
    <message>
        <source>{value} (training mean)</source>
        <translation>{value}（训练集均值）</translation>
    </message>
    <message>
        <source>{name}: a number; leave empty to use the training mean (training data: centre {centre}, spread {spread})</source>
        <translation>{name}：一个数值；留空则使用训练集均值（训练数据：中心 {centre}，离散度 {spread}）</translation>
    </message>
    <message>
        <source>{name}: a number; leave empty to use the training mean</source>
        <translation>{name}：一个数值；留空则使用训练集均值</translation>
    </message>
    <message>
        <source>type a sentence</source>
        <translation>输入一句话</translation>
    </message>
    <message>
        <source>words</source>
        <translation>词</translation>
    </message>
    <message>
        <source>characters</source>
        <translation>字符</translation>
    </message>
    <message>
        <source>{name}: free text, split into {mode} as in training; the first {n} tokens are used and words not seen in training count as unknown</source>
        <translation>{name}：自由文本，与训练时一样切分为{mode}；只用前 {n} 个词元，训练中没见过的词记为未登录词</translation>
    </message>
    <message>
        <source>Prediction is not available: {why}.</source>
        <translation>无法预测：{why}。</translation>
    </message>
    <message>
        <source>Type one row of values and press Predict, or predict a whole CSV file.</source>
        <translation>输入一行数值后点击“预测”，或预测整个 CSV 文件。</translation>
    </message>
    <message>
        <source>Open an image (or drop one here) to see what the model predicts, or predict a whole folder.</source>
        <translation>打开一张图像（或拖放到这里）查看模型的预测，或预测整个文件夹。</translation>
    </message>
    <message>
        <source>Predict from a file of recent rows.</source>
        <translation>根据包含最近若干行的文件进行预测。</translation>
    </message>
    <message>
        <source>Not available: {why}</source>
        <translation>不可用：{why}</translation>
    </message>
</context>
<context>
    <name>ProjectController</name>
    <message>
        <source>Cannot open project</source>
        <translation>无法打开项目</translation>
    </message>
    <message>
        <source>NN Studio projects (*{suffix});;All files (*)</source>
        <translation>NN Studio 项目 (*{suffix});;所有文件 (*)</translation>
    </message>
    <message>
        <source>Unsaved changes</source>
        <translation>未保存的更改</translation>
    </message>
    <message>
        <source>The project has unsaved changes. Save them first?</source>
        <translation>项目有未保存的更改。要先保存吗？</translation>
    </message>
    <message>
        <source>Open project</source>
        <translation>打开项目</translation>
    </message>
    <message>
        <source>Save project as</source>
        <translation>项目另存为</translation>
    </message>
    <message>
        <source>Recover unsaved work?</source>
        <translation>恢复未保存的工作？</translation>
    </message>
    <message>
        <source>NN Studio did not close cleanly. An autosaved project from {when} exists.
Do you want to recover it?</source>
        <translation>NN Studio 上次没有正常关闭。存在一个 {when} 自动保存的项目。
要恢复它吗？</translation>
    </message>
    <message>
        <source>New empty project</source>
        <translation>新的空项目</translation>
    </message>
    <message>
        <source>Opened {path}</source>
        <translation>已打开 {path}</translation>
    </message>
    <message>
        <source>Cannot save project</source>
        <translation>无法保存项目</translation>
    </message>
    <message>
        <source>could not save {path}: {reason}</source>
        <translation>无法保存 {path}：{reason}</translation>
    </message>
    <message>
        <source>Saved {path}</source>
        <translation>已保存 {path}</translation>
    </message>
    <message>
        <source>Autosave failed: {reason}</source>
        <translation>自动保存失败：{reason}</translation>
    </message>
    <message>
        <source>Cannot recover</source>
        <translation>无法恢复</translation>
    </message>
    <message>
        <source>The autosaved project is damaged: {reason}</source>
        <translation>自动保存的项目已损坏：{reason}</translation>
    </message>
    <message>
        <source>Recovered the autosaved project; save it to keep it</source>
        <translation>已恢复自动保存的项目；请保存以保留它</translation>
    </message>
</context>
<context>
    <name>PropertyEditor</name>
    <message>
        <source>No layer selected</source>
        <translation>未选中层</translation>
    </message>
    <message>
        <source>{n} layers selected</source>
        <translation>已选中 {n} 个层</translation>
    </message>
    <message>
        <source>Select a layer on the canvas to edit its settings.</source>
        <translation>在画布上选中一个层即可编辑它的设置。</translation>
    </message>
    <message>
        <source>Select a single layer to edit its settings.</source>
        <translation>只选中一个层才能编辑它的设置。</translation>
    </message>
    <message>
        <source>Output shape: {shape}</source>
        <translation>输出形状：{shape}</translation>
    </message>
    <message>
        <source>Output shape: unknown</source>
        <translation>输出形状：未知</translation>
    </message>
    <message>
        <source>Problem: {reason}</source>
        <translation>问题：{reason}</translation>
    </message>
    <message>
        <source>Unknown layer type: it cannot be edited.</source>
        <translation>未知的层类型：无法编辑。</translation>
    </message>
    <message>
        <source>A name for this layer, used in messages and exports (optional)</source>
        <translation>该层的名称，用于提示信息和导出（可选）</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>e.g. 28, 28, 1</source>
        <translation>例如 28, 28, 1</translation>
    </message>
    <message>
        <source>setting &apos;{name}&apos; must be a number, got {text}</source>
        <translation>设置“{name}”必须是数字，收到的是 {text}</translation>
    </message>
</context>
<context>
    <name>TrainingController</name>
    <message>
        <source>the graph cannot be trained yet: {why}</source>
        <extracomment>how often the GUI takes the worker&apos;s events (frames per second) allowed transitions; anything else is a bug and raises live runs train in the training process (engine.train_process) unless NNSTUDIO_TRAIN_PROCESS=0</extracomment>
        <translation>这个图还不能训练：{why}</translation>
    </message>
    <message>
        <source>choose a data set first (Data panel)</source>
        <translation>请先选择数据集（数据面板）</translation>
    </message>
    <message>
        <source>preparing…</source>
        <translation>正在准备…</translation>
    </message>
    <message>
        <source>pausing…</source>
        <translation>正在暂停…</translation>
    </message>
    <message>
        <source>running</source>
        <translation>正在训练</translation>
    </message>
    <message>
        <source>one epoch…</source>
        <translation>训练一轮…</translation>
    </message>
    <message>
        <source>stopping…</source>
        <translation>正在停止…</translation>
    </message>
    <message>
        <source>{what} (weights and optimizer state kept)</source>
        <translation>{what}（权重和优化器状态已保留）</translation>
    </message>
    <message>
        <source>paused</source>
        <translation>已暂停</translation>
    </message>
    <message>
        <source>training finished</source>
        <translation>训练完成</translation>
    </message>
    <message>
        <source>stopped early (no more improvement)</source>
        <translation>已提前停止（不再有改进）</translation>
    </message>
    <message>
        <source>training stopped</source>
        <translation>训练已停止</translation>
    </message>
    <message>
        <source>diverged: paused (Resume halves the learning rate)</source>
        <translation>训练发散：已暂停（继续时学习率减半）</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>已停止</translation>
    </message>
</context>
<context>
    <name>TrainingCurves</name>
    <message>
        <source>metric</source>
        <translation>指标</translation>
    </message>
    <message>
        <source>epoch</source>
        <translation>轮次</translation>
    </message>
    <message>
        <source>train (batches)</source>
        <translation>训练（按批）</translation>
    </message>
    <message>
        <source>train (epoch)</source>
        <translation>训练（按轮）</translation>
    </message>
    <message>
        <source>validation</source>
        <translation>验证集</translation>
    </message>
    <message>
        <source>train</source>
        <translation>训练集</translation>
    </message>
    <message>
        <source>log loss</source>
        <translation>对数损失轴</translation>
    </message>
    <message>
        <source>Logarithmic loss axis (values &lt;= 0 are hidden)</source>
        <translation>损失使用对数坐标轴（不显示 &lt;= 0 的值）</translation>
    </message>
    <message>
        <source>Smoothing of the per-batch loss (0 = none); the raw curve stays faint</source>
        <translation>每批损失的平滑程度（0 = 不平滑）；原始曲线以浅色显示</translation>
    </message>
    <message>
        <source>Metric shown in the lower plot</source>
        <translation>图中显示的指标</translation>
    </message>
    <message>
        <source>smoothing</source>
        <translation>平滑</translation>
    </message>
    <message>
        <source>{n} non-finite or non-positive values not drawn</source>
        <translation>{n} 个非有限或非正的值未绘制</translation>
    </message>
    <message>
        <source>{n} non-finite values not drawn</source>
        <translation>{n} 个非有限的值未绘制</translation>
    </message>
    <message>
        <source>epoch {n}: {values}</source>
        <translation>第 {n} 轮：{values}</translation>
    </message>
    <message>
        <source>batch loss at {x}: {loss}</source>
        <translation>{x} 处的批损失：{loss}</translation>
    </message>
</context>
<context>
    <name>TrainingPanel</name>
    <message>
        <source>{s} s</source>
        <extracomment>state -&gt; (train, pause, resume, stop) enabled</extracomment>
        <translation>{s} 秒</translation>
    </message>
    <message>
        <source>{m} min {s} s</source>
        <translation>{m} 分 {s} 秒</translation>
    </message>
    <message>
        <source>{h} h {m} min</source>
        <translation>{h} 小时 {m} 分</translation>
    </message>
    <message>
        <source>continue from the trained weights</source>
        <extracomment>sections open at start (the others open by themselves when a loaded setting differs from its default)</extracomment>
        <translation>从已训练的权重继续</translation>
    </message>
    <message>
        <source>Start from the current weights instead of a fresh initialisation</source>
        <translation>从当前权重开始，而不是重新初始化</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Train</source>
        <translation>训练</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>epoch – · batch –</source>
        <translation>第 – 轮 · 第 – 批</translation>
    </message>
    <message>
        <source>ETA –</source>
        <translation>预计剩余 –</translation>
    </message>
    <message>
        <source>ready</source>
        <translation>就绪</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>preparing (loading data, compiling kernels)…</source>
        <translation>正在准备（载入数据、编译计算内核）…</translation>
    </message>
    <message>
        <source>running</source>
        <translation>正在训练</translation>
    </message>
    <message>
        <source>pausing (at the end of this batch)…</source>
        <translation>正在暂停（在本批结束时）…</translation>
    </message>
    <message>
        <source>paused</source>
        <translation>已暂停</translation>
    </message>
    <message>
        <source>stopping…</source>
        <translation>正在停止…</translation>
    </message>
    <message>
        <source>epoch {epoch}/{epochs} · batch {batch}/{steps}</source>
        <translation>第 {epoch}/{epochs} 轮 · 第 {batch}/{steps} 批</translation>
    </message>
    <message>
        <source>{n_train} training and {n_val} validation samples · {n_params} parameters · loss {loss}</source>
        <translation>{n_train} 个训练样本和 {n_val} 个验证样本 · {n_params} 个参数 · 损失函数 {loss}</translation>
    </message>
    <message>
        <source>ETA {eta}</source>
        <translation>预计剩余 {eta}</translation>
    </message>
    <message>
        <source>{speed} samples/s · loss {loss}</source>
        <translation>{speed} 样本/秒 · 损失 {loss}</translation>
    </message>
    <message>
        <source>epoch {epoch}: loss {loss}</source>
        <translation>第 {epoch} 轮：损失 {loss}</translation>
    </message>
    <message>
        <source>{speed} samples/s</source>
        <translation>{speed} 样本/秒</translation>
    </message>
    <message>
        <source>done</source>
        <translation>完成</translation>
    </message>
</context>
<context>
    <name>TrainingUI</name>
    <message>
        <source>Overlay an earlier run&apos;s per-epoch curves (dashed)</source>
        <translation>叠加显示之前某次训练的逐轮曲线（虚线）</translation>
    </message>
    <message>
        <source>compare with</source>
        <translation>对比</translation>
    </message>
    <message>
        <source>Curves</source>
        <translation>曲线</translation>
    </message>
    <message>
        <source>Weights</source>
        <translation>权重</translation>
    </message>
    <message>
        <source>Boundary</source>
        <translation>决策边界</translation>
    </message>
    <message>
        <source>Confusion</source>
        <translation>混淆矩阵</translation>
    </message>
    <message>
        <source>Loss and metrics per batch and per epoch</source>
        <translation>每批和每轮的损失与指标</translation>
    </message>
    <message>
        <source>Weight histograms per layer</source>
        <translation>各层的权重直方图</translation>
    </message>
    <message>
        <source>Decision boundary of a two-feature classifier</source>
        <translation>双特征分类器的决策边界</translation>
    </message>
    <message>
        <source>Confusion matrix on the validation set</source>
        <translation>验证集上的混淆矩阵</translation>
    </message>
    <message>
        <source>&amp;Pause</source>
        <translation>暂停(&amp;P)</translation>
    </message>
    <message>
        <source>Pause training (weights and optimizer state are kept); press again to resume</source>
        <translation>暂停训练（保留权重和优化器状态）；再按一次继续</translation>
    </message>
    <message>
        <source>&amp;Stop</source>
        <translation>停止(&amp;S)</translation>
    </message>
    <message>
        <source>Stop training and keep the weights trained so far</source>
        <translation>停止训练，并保留目前训练得到的权重</translation>
    </message>
    <message>
        <source>Ste&amp;p one epoch</source>
        <translation>单步训练一轮(&amp;P)</translation>
    </message>
    <message>
        <source>Train exactly one epoch, then pause</source>
        <translation>只训练一轮，然后暂停</translation>
    </message>
    <message>
        <source>&amp;Reset weights</source>
        <translation>重置权重(&amp;R)</translation>
    </message>
    <message>
        <source>Forget the trained weights: the next run starts from the same initial weights (same seed)</source>
        <translation>丢弃训练得到的权重：下次训练从相同的初始权重开始（相同的随机种子）</translation>
    </message>
    <message>
        <source>Re-initialise with a &amp;new seed</source>
        <translation>用新的随机种子重新初始化(&amp;N)</translation>
    </message>
    <message>
        <source>Forget the trained weights and use the next seed: different initial weights</source>
        <translation>丢弃训练得到的权重并使用下一个随机种子：初始权重不同</translation>
    </message>
    <message>
        <source>&amp;Resume</source>
        <translation>继续(&amp;R)</translation>
    </message>
    <message>
        <source>Stop the run first</source>
        <translation>请先停止训练</translation>
    </message>
    <message>
        <source>weights reset: the next run starts from the initial weights of seed {seed}</source>
        <translation>权重已重置：下次训练从随机种子 {seed} 的初始权重开始</translation>
    </message>
    <message>
        <source>weights reset</source>
        <translation>权重已重置</translation>
    </message>
    <message>
        <source>paused at epoch {n}/{total}</source>
        <translation>已暂停于第 {n}/{total} 轮</translation>
    </message>
    <message>
        <source>epoch {n}/{total}</source>
        <translation>第 {n}/{total} 轮</translation>
    </message>
    <message>
        <source>loss {v}</source>
        <translation>损失 {v}</translation>
    </message>
    <message>
        <source>{v} samples/s</source>
        <translation>{v} 样本/秒</translation>
    </message>
    <message>
        <source>ETA {t}</source>
        <translation>预计剩余 {t}</translation>
    </message>
    <message>
        <source>training: the graph is locked until the run ends (Stop to end it)</source>
        <translation>正在训练：训练结束前图被锁定（点击“停止”可结束训练）</translation>
    </message>
    <message>
        <source>training ended: the graph can be edited again</source>
        <translation>训练结束：可以再次编辑图</translation>
    </message>
    <message>
        <source>{name}: {n} epochs, {reason} (saved with the project)</source>
        <translation>{name}：{n} 轮，{reason}（随项目保存）</translation>
    </message>
    <message>
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <source>Run {n}</source>
        <translation>第 {n} 次训练</translation>
    </message>
    <message>
        <source>{name} ({n} epochs, {reason})</source>
        <translation>{name}（{n} 轮，{reason}）</translation>
    </message>
</context>
<context>
    <name>WeightHistograms</name>
    <message>
        <source>mean {mean}   std {std}   min {min}   max {max}   zeros {zeros}%</source>
        <extracomment>at most this many columns (snapshots) in a heat map; older ones are thinned out a widened shared range gets this much extra room on the side that grew</extracomment>
        <translation>均值 {mean}   标准差 {std}   最小值 {min}   最大值 {max}   零值 {zeros}%</translation>
    </message>
    <message>
        <source>   NaN/inf {pct}%</source>
        <translation>   NaN/inf {pct}%</translation>
    </message>
    <message>
        <source>Parameter to show (layer id / parameter name)</source>
        <translation>要显示的参数（层 id / 参数名）</translation>
    </message>
    <message>
        <source>no histograms yet: train to see how the weights evolve</source>
        <translation>还没有直方图：开始训练即可查看权重如何变化</translation>
    </message>
    <message>
        <source>value</source>
        <translation>数值</translation>
    </message>
    <message>
        <source>count</source>
        <translation>计数</translation>
    </message>
    <message>
        <source>epoch</source>
        <translation>轮次</translation>
    </message>
    <message>
        <source>gradient norm</source>
        <translation>梯度范数</translation>
    </message>
    <message>
        <source>parameter</source>
        <translation>参数</translation>
    </message>
    <message>
        <source>{key} after epoch {epoch}:   {stats}</source>
        <translation>{key}，第 {epoch} 轮后：   {stats}</translation>
    </message>
</context>
<context>
    <name>Workers</name>
    <message>
        <source>not enough memory for this data or model; try a smaller batch size, image size or model</source>
        <extracomment>data sets larger than this as float arrays train in the app&apos;s process (no copy for the child)</extracomment>
        <translation>内存不足，无法处理这些数据或模型；请尝试更小的批大小、图像尺寸或模型</translation>
    </message>
    <message>
        <source>could not read a file: {reason} ({file})</source>
        <translation>无法读取文件：{reason}（{file}）</translation>
    </message>
    <message>
        <source>could not read a file: {reason}</source>
        <translation>无法读取文件：{reason}</translation>
    </message>
    <message>
        <source>internal error in NN Studio ({details})</source>
        <translation>NN Studio 内部错误（{details}）</translation>
    </message>
    <message>
        <source>; details in {path}</source>
        <translation>；详细信息见 {path}</translation>
    </message>
    <message>
        <source> · about {n} s left</source>
        <translation> · 约剩 {n} 秒</translation>
    </message>
    <message>
        <source> · about {n} min left</source>
        <translation> · 约剩 {n} 分钟</translation>
    </message>
    <message>
        <source>loading the data…</source>
        <translation>正在载入数据…</translation>
    </message>
    <message>
        <source>loading the data: {what} ({pct}%)…</source>
        <translation>正在载入数据：{what}（{pct}%）…</translation>
    </message>
    <message>
        <source>loading the data: {what}…</source>
        <translation>正在载入数据：{what}…</translation>
    </message>
    <message>
        <source>loading the data ({pct}%)…</source>
        <translation>正在载入数据（{pct}%）…</translation>
    </message>
    <message>
        <source>compiling the model…</source>
        <extracomment>the training process shared by every run of this app (started early by :func:`prestart_process`)</extracomment>
        <translation>正在编译模型…</translation>
    </message>
    <message>
        <source>the training process ended unexpectedly (exit code {code}); the app and your project are unaffected, press Train to start again</source>
        <translation>训练进程意外结束（退出码 {code}）；应用和项目均不受影响，点击“训练”即可重新开始</translation>
    </message>
    <message>
        <source>the training process ended unexpectedly; press Train to start again</source>
        <translation>训练进程意外结束；点击“训练”即可重新开始</translation>
    </message>
</context>
</TS>
